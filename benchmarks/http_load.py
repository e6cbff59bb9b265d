"""An asyncio HTTP load generator for the benchmarks: closed loop, fixed concurrency.

`run_load` keeps `concurrency` requests in flight for a given time. Each of its tasks
sends the next request as soon as its previous response body has arrived, taking the
paths in turn, so every path of a query is requested about equally often.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

# No compression in either direction: servers that gzip (the API) and servers that do
# not (Datasette) then send the same bytes, and the client does not spend CPU on it.
REQUEST_HEADERS = {"Accept-Encoding": "identity"}
REQUEST_TIMEOUT = 120.0


@dataclass(frozen=True, slots=True)
class LoadResult:
    """Outcome of one load run: completed requests, their latencies, failures and cost.

    `latencies_ms` has one entry per successful response, from sending the request to
    the last byte of the body. `client_cpu_seconds` is the CPU time that this process
    (the load generator) used during the run.
    """

    seconds: float
    latencies_ms: list[float]
    errors: int
    client_cpu_seconds: float

    @property
    def requests_per_second(self) -> float:
        return len(self.latencies_ms) / self.seconds

    def percentile_ms(self, percent: int) -> float:
        """Return the latency below which `percent` % of the responses arrived."""
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else float("nan")
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[percent - 1]


async def _fetch(client: httpx.AsyncClient, path: str) -> int:
    """Send one GET request, read and drop its body; return the status code."""
    async with client.stream("GET", path) as response:
        async for _chunk in response.aiter_raw():
            pass
        return response.status_code


async def _run(
    base_url: str, paths: Sequence[str], seconds: float, concurrency: int, warmup_rounds: int
) -> LoadResult:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base_url, headers=REQUEST_HEADERS, limits=limits, timeout=REQUEST_TIMEOUT
    ) as client:
        # Not measured: opens the connections and fills the servers' caches.
        for _ in range(warmup_rounds):
            await asyncio.gather(
                *(_fetch(client, paths[index % len(paths)]) for index in range(concurrency))
            )

        next_path = itertools.cycle(paths)
        latencies: list[float] = []
        errors = 0

        async def worker(deadline: float) -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                path = next(next_path)
                started = time.perf_counter()
                try:
                    status = await _fetch(client, path)
                except httpx.HTTPError:
                    errors += 1
                    continue
                if status == 200:
                    latencies.append((time.perf_counter() - started) * 1000)
                else:
                    errors += 1

        cpu_started = time.process_time()
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(worker(deadline) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
    return LoadResult(
        seconds=elapsed, latencies_ms=latencies, errors=errors, client_cpu_seconds=cpu
    )


def run_load(
    base_url: str,
    paths: Sequence[str],
    seconds: float,
    concurrency: int,
    warmup_rounds: int = 2,
) -> LoadResult:
    """Request `paths` in turn from `base_url` for `seconds` with `concurrency` in flight.

    A response other than 200, or a failed connection, counts as an error. The run
    ends when the last request that started before the deadline has finished.
    """
    if not paths:
        raise ValueError("no paths to request: expected at least one")
    return asyncio.run(_run(base_url, paths, seconds, concurrency, warmup_rounds))
