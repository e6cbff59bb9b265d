"""Gunicorn settings of the production API server.

Run from a checkout with `gunicorn -c gunicorn.conf.py` (that file loads this module), or
anywhere with `gunicorn -c python:durban_valuations.api.gunicorn_conf`. Gunicorn reads
the module-level names below as its settings and hooks. GUNICORN_CMD_ARGS and
command-line options override them, for example GUNICORN_CMD_ARGS="--timeout 60".
docs/operations.md lists every environment variable read here.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from durban_valuations.config.log_setup import log_level_from_environment
from durban_valuations.config.settings import Settings, setting_problems

# A default beyond this count gives more processes (and connection pools of up to 15
# PostgreSQL connections each) than a shared database host usually wants.
# WEB_CONCURRENCY sets any count.
MAX_DEFAULT_WORKERS = 8
METRICS_DIRECTORY_PREFIX = "durban-valuations-metrics-"

# The names that `from durban_valuations.api.gunicorn_conf import *` exports: Gunicorn's
# settings and hooks only, so no helper name is mistaken for a setting.
__all__ = [
    "accesslog",
    "bind",
    "child_exit",
    "errorlog",
    "forwarded_allow_ips",
    "graceful_timeout",
    "keepalive",
    "logconfig_dict",
    "loglevel",
    "max_requests",
    "max_requests_jitter",
    "on_exit",
    "on_starting",
    "post_worker_init",
    "preload_app",
    "timeout",
    "worker_class",
    "worker_tmp_dir",
    "workers",
    "wsgi_app",
]


def available_cpus() -> int:
    """Return the CPUs this process may run on (its affinity mask), at least 1.

    A container's CPU quota (cgroups) is not seen here; set WEB_CONCURRENCY there.
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def worker_count(environ: dict[str, str] | None = None, cpus: int | None = None) -> int:
    """Return WEB_CONCURRENCY, else 2 × CPUs + 1 capped at MAX_DEFAULT_WORKERS.

    Raises ValueError naming WEB_CONCURRENCY when it is not a whole number of at least 1.
    """
    environ = dict(os.environ) if environ is None else environ
    raw = environ.get("WEB_CONCURRENCY", "").strip()
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise ValueError(f"invalid WEB_CONCURRENCY {raw!r}: use a whole number of at least 1")
        return int(raw)
    cpus = available_cpus() if cpus is None else cpus
    return min(2 * cpus + 1, MAX_DEFAULT_WORKERS)


def _host_port(host: str, port: int) -> str:
    """Join `host` and `port` as Gunicorn expects, with brackets around an IPv6 address."""
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def bind_addresses(environ: dict[str, str] | None = None) -> list[str]:
    """Return GUNICORN_BIND (comma-separated), else API_HOST:API_PORT of the settings.

    Raises ValueError naming the variables when the settings are invalid.
    """
    environ = dict(os.environ) if environ is None else environ
    raw = environ.get("GUNICORN_BIND", "").strip()
    if raw:
        return [address.strip() for address in raw.split(",") if address.strip()]
    try:
        settings = Settings()
    except ValidationError as error:
        names = ", ".join(str(problem["loc"][0]).upper() for problem in error.errors())
        details = " ".join(setting_problems(error))
        raise ValueError(f"invalid settings {names}. {details}") from None
    return [_host_port(settings.api_host, settings.api_port)]


def build_logconfig(level: str) -> dict[str, Any]:
    """Return the logging configuration: JSON lines (text on a terminal), secrets redacted.

    The app's records and its access lines go to standard output. Gunicorn's and
    Uvicorn's server messages (start, stop, worker boot and exit, errors) go to
    standard error. LOG_FORMAT=json or text overrides the choice by terminal.
    """
    handler_factory = "durban_valuations.config.log_setup.make_handler"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {
            "stdout": {"()": handler_factory, "stream": "ext://sys.stdout"},
            "stderr": {"()": handler_factory, "stream": "ext://sys.stderr"},
        },
        "loggers": {
            "gunicorn.error": {"handlers": ["stderr"], "level": level, "propagate": False},
            "gunicorn.access": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
            # Alembic logs two INFO lines each time /ready or /health reads the revision.
            "alembic": {"level": "WARNING"},
            "httpx": {"level": "WARNING"},
            "pgserver": {"level": "WARNING"},
        },
        "root": {"handlers": ["stdout"], "level": level},
    }


def prepare_metrics_directory(
    environ: MutableMapping[str, str] = os.environ,
) -> tuple[Path, bool]:
    """Make PROMETHEUS_MULTIPROC_DIR an empty folder of metric files and return it.

    When the variable is unset, a new temporary folder is created and the variable set,
    so the workers (forked later) inherit it. Returns the folder and whether it was
    created here. Files of an earlier run are removed, because prometheus-client would
    add their counts to the new ones.
    """
    value = environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not value:
        directory = Path(tempfile.mkdtemp(prefix=METRICS_DIRECTORY_PREFIX))
        environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
        return directory, True
    directory = Path(value)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    return directory, False


_LOG_LEVEL = log_level_from_environment()
_created_metrics_directory: Path | None = None

wsgi_app = "durban_valuations.api.server:app"
worker_class = "durban_valuations.api.gunicorn_worker.ApiUvicornWorker"
workers = worker_count()
bind = bind_addresses()
# Off: each worker imports the app after the fork, so no database connection,
# SQLAlchemy pool or prometheus-client value is shared between processes, and a
# worker that restarts (max_requests) loads the same code as the others.
preload_app = False
# Seconds a worker's event loop may stay blocked before Gunicorn kills it. Requests
# run in a thread pool, so a slow query does not count against it.
timeout = 30
# Seconds that workers get after SIGTERM to finish requests in progress.
graceful_timeout = 30
# Seconds an idle keep-alive connection stays open. Longer than the idle timeout of
# common load balancers (60 s for AWS ALB and nginx's upstream keepalive_timeout),
# so the balancer closes idle connections first and never reuses one being closed here.
keepalive = 75
# Restart each worker after about this many requests to bound slow memory growth. The
# jitter spreads the restarts. A restart costs seconds of importing the app and drops the
# worker's caches and open connections. It also leaves the old worker's counter and
# histogram files in PROMETHEUS_MULTIPROC_DIR. Hence a high count: at 1,000 requests a
# second, a worker restarts about every 17 minutes.
max_requests = 1_000_000
max_requests_jitter = 100_000
# Addresses whose X-Forwarded-For and X-Forwarded-Proto headers are trusted, the same
# variable and default as Gunicorn's own; set it to the load balancer's addresses.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# The app writes the access log itself (one JSON line per request, with its request id).
accesslog = None
errorlog = "-"
loglevel = _LOG_LEVEL.lower()
logconfig_dict = build_logconfig(_LOG_LEVEL)
# The heartbeat files of the workers go to memory where /dev/shm exists, because a
# container's disk-backed /tmp can stall the heartbeat.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108


def on_starting(server: Any) -> None:
    """Prepare the Prometheus metrics folder before any worker starts."""
    global _created_metrics_directory
    directory, created = prepare_metrics_directory()
    if created:
        _created_metrics_directory = directory
    server.log.info("Prometheus multiprocess metrics in %s", directory)


def child_exit(server: Any, worker: Any) -> None:
    """Drop the live-gauge files of a worker that exited, as prometheus-client requires."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    """Remove the metrics folder when on_starting created it."""
    if _created_metrics_directory is not None:
        shutil.rmtree(_created_metrics_directory, ignore_errors=True)


def post_worker_init(worker: Any) -> None:
    """Move the objects of the loaded app out of the garbage collector's view.

    Each Uvicorn worker imports the app before it serves, which creates about 140,000
    long-lived objects (counted with gc.get_objects() after importing the app). Unfrozen,
    every full collection walks them again and pauses the requests in flight on that
    worker.
    """
    gc.freeze()
