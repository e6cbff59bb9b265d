"""Run the replica with uvicorn: blocking for the command line, in a thread for tests."""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.types import ASGIApp

from durban_valuations.replica.app import ReplicaState, RequestRecord, create_app
from durban_valuations.replica.config import ReplicaConfig
from durban_valuations.replica.generate import DEFAULT_ROWS, generate_roll
from durban_valuations.replica.ground_truth import export_ground_truth
from durban_valuations.replica.roll import ReplicaRoll

LOGGER = logging.getLogger("durban_valuations.replica")
STARTUP_TIMEOUT_SECONDS = 10.0


def check_loopback(host: str) -> None:
    """Raise ValueError unless `host` is a loopback address or `localhost`."""
    if host == "localhost":
        return
    try:
        is_loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        is_loopback = False
    if not is_loopback:
        raise ValueError(
            f"the replica binds only to loopback, got host {host!r}: use 127.0.0.1 or localhost"
        )


def _uvicorn_config(app: ASGIApp, host: str, port: int, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="off",
        ws="none",
        server_header=False,
        access_log=False,
    )


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    rows: int = DEFAULT_ROWS,
    seed: int = 2022,
    ground_truth_path: Path | str | None = None,
    config: ReplicaConfig | None = None,
) -> None:
    """Generate a roll, optionally export its ground truth, and serve it until interrupted.

    Raises ValueError for a host other than loopback.
    """
    check_loopback(host)
    started = time.perf_counter()
    roll = generate_roll(rows, seed)
    LOGGER.info("generated %d rows (seed %d) in %.1f s", rows, seed, time.perf_counter() - started)
    if ground_truth_path is not None:
        count = export_ground_truth(roll, ground_truth_path)
        LOGGER.info("wrote ground truth of %d properties to %s", count, ground_truth_path)
    LOGGER.info("serving the replica on http://%s:%d/", host, port)
    uvicorn.Server(_uvicorn_config(create_app(roll, config), host, port, "info")).run()
    LOGGER.info("replica stopped")


@dataclass(frozen=True, slots=True)
class RunningReplica:
    """A replica served in a background thread: its base URL, app and served state."""

    url: str
    app: Starlette

    @property
    def state(self) -> ReplicaState:
        """The served state; assign `state.roll` to swap the data."""
        state: ReplicaState = self.app.state.replica
        return state

    @property
    def roll(self) -> ReplicaRoll:
        """The roll being served."""
        return self.state.roll

    @property
    def config(self) -> ReplicaConfig:
        """The replica's configuration."""
        return self.state.config

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request handled so far, oldest first."""
        return self.state.requests


@contextmanager
def running_replica(
    rows: int = 3_000,
    seed: int = 2022,
    config: ReplicaConfig | None = None,
    roll: ReplicaRoll | None = None,
    wrap: Callable[[ASGIApp], ASGIApp] | None = None,
) -> Iterator[RunningReplica]:
    """Serve a replica on 127.0.0.1 at a free port for the duration of the `with` block.

    `roll` is served as given; without it a roll of `rows` rows is generated from `seed`.
    `wrap`, when given, wraps the app in another ASGI app (a test's faulty proxy, say).
    Raises RuntimeError when the server does not start within STARTUP_TIMEOUT_SECONDS.
    """
    app = create_app(roll if roll is not None else generate_roll(rows, seed), config)
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections only when
    # the listening socket names its protocol, and without it every response waits about
    # 40 ms for the client's delayed ACK.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    served: ASGIApp = app if wrap is None else wrap(app)
    server = uvicorn.Server(_uvicorn_config(served, "127.0.0.1", port, "warning"))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="replica-server", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"replica server on 127.0.0.1:{port} failed to start")
            time.sleep(0.01)
        yield RunningReplica(url=f"http://127.0.0.1:{port}", app=app)
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT_SECONDS)
        listener.close()
