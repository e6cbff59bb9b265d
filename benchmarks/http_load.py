"""HTTP load for the benchmarks: closed loop, fixed concurrency, with wrk or an httpx client.

`run_load` keeps `concurrency` requests in flight for a given time, after an unmeasured
warm-up of `warmup_seconds`. Each connection sends the next request as soon as the
previous response has arrived, taking the paths in turn, so every path of a query is
requested about equally often.

Two load generators:
- wrk (Debian package `wrk`), used when it is on PATH. It is written in C. In the
  500,000-row runs it used 1 % to 33 % of a core at up to 7,000 requests/s, where the
  Python client used up to 82 % at under 300 requests/s (the 50,000-row trial in
  docs/benchmarks.md). On a 2-core machine the servers
  under test need that CPU. Its Lua script (WRK_SCRIPT) rotates the paths and prints
  the counts and latency percentiles from wrk's histogram.
- an asyncio httpx client in this process, used without wrk (as in the smoke test).

Both send `Accept-Encoding: identity` and measure a request from sending it to the last
byte of the response.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

# No compression in either direction: servers that gzip (the API) and servers that do
# not (Datasette) then send the same bytes, and the client does not spend CPU on it.
REQUEST_HEADERS = {"Accept-Encoding": "identity"}
REQUEST_TIMEOUT = 120.0
WRK_THREADS = 2
WRK_RESULT_PREFIX = "WRK_RESULT "

# Reads the paths, one per line, from the file named by the PATHS_FILE variable. Each
# wrk thread takes them in turn. At the end it prints one JSON line with the counts and
# the latency percentiles in microseconds.
WRK_SCRIPT = """
local paths = {}
for line in io.lines(os.getenv("PATHS_FILE")) do paths[#paths + 1] = line end
local counter = 0
local headers = {["Accept-Encoding"] = "identity"}
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1], headers)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests": %d, "microseconds": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d, "p50": %f, "p99": %f, "mean": %f}\\n',
    "WRK_RESULT ", summary.requests, summary.duration, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(99), latency.mean))
end
"""


@dataclass(frozen=True, slots=True)
class LoadResult:
    """Outcome of one load run: completed requests, latency percentiles, failures, cost.

    `requests` counts the successful responses (status 200 for the httpx client, any
    status below 400 for wrk, which counts the others as errors). `client_cpu_seconds`
    is the CPU time that the load generator used during the measured run.
    """

    generator: str
    seconds: float
    requests: int
    p50_ms: float
    p99_ms: float
    errors: int
    client_cpu_seconds: float

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds

    def percentile_ms(self, percent: int) -> float:
        """Return the latency below which `percent` % (50 or 99) of the responses arrived."""
        if percent == 50:
            return self.p50_ms
        if percent == 99:
            return self.p99_ms
        raise ValueError(f"invalid percent {percent}: expected 50 or 99")


def wrk_path() -> str | None:
    """Return the path of the wrk executable, or None when it is not installed."""
    return shutil.which("wrk")


def run_load(
    base_url: str,
    paths: Sequence[str],
    seconds: float,
    concurrency: int,
    warmup_seconds: float = 3.0,
    generator: str = "auto",
) -> LoadResult:
    """Request `paths` in turn from `base_url` for `seconds` with `concurrency` in flight.

    `generator` is "wrk", "httpx" or "auto" (wrk when it is installed). A response of
    400 or more, or a failed connection, counts as an error.
    """
    if not paths:
        raise ValueError("no paths to request: expected at least one")
    if generator not in ("auto", "wrk", "httpx"):
        raise ValueError(f"invalid generator {generator!r}: expected auto, wrk or httpx")
    wrk = wrk_path()
    if generator == "wrk" and wrk is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk, or use --load httpx")
    if generator != "httpx" and wrk is not None:
        return _run_wrk(wrk, base_url, paths, seconds, concurrency, warmup_seconds)
    return asyncio.run(_run_httpx(base_url, paths, seconds, concurrency, warmup_seconds))


def _run_wrk(
    wrk: str,
    base_url: str,
    paths: Sequence[str],
    seconds: float,
    concurrency: int,
    warmup_seconds: float,
) -> LoadResult:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        script = folder / "paths.lua"
        script.write_text(WRK_SCRIPT)
        paths_file = folder / "paths.txt"
        paths_file.write_text("".join(f"{path}\n" for path in paths))
        environment = {"PATHS_FILE": str(paths_file), "PATH": "/usr/bin:/bin"}

        def wrk_run(duration: float) -> dict[str, float]:
            command = [
                wrk, f"-t{min(WRK_THREADS, concurrency)}", f"-c{concurrency}",
                f"-d{max(round(duration), 1)}s", f"--timeout={REQUEST_TIMEOUT:g}s",
                "-s", str(script), base_url,
            ]  # fmt: skip
            finished = subprocess.run(
                command, capture_output=True, text=True, env=environment, check=False
            )
            for line in finished.stdout.splitlines():
                if line.startswith(WRK_RESULT_PREFIX):
                    parsed: dict[str, float] = json.loads(line.removeprefix(WRK_RESULT_PREFIX))
                    return parsed
            raise RuntimeError(
                f"wrk printed no result (exit code {finished.returncode}):\n"
                f"{finished.stdout[-2000:]}\n{finished.stderr[-2000:]}"
            )

        if warmup_seconds > 0:
            wrk_run(warmup_seconds)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        result = wrk_run(seconds)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)

    errors = sum(int(result[kind]) for kind in ("connect", "read", "write", "status", "timeout"))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return LoadResult(
        generator="wrk",
        seconds=result["microseconds"] / 1e6,
        requests=int(result["requests"]) - int(result["status"]),
        p50_ms=result["p50"] / 1000,
        p99_ms=result["p99"] / 1000,
        errors=errors,
        client_cpu_seconds=cpu,
    )


async def _fetch(client: httpx.AsyncClient, path: str) -> int:
    """Send one GET request, read and drop its body; return the status code."""
    async with client.stream("GET", path) as response:
        async for _chunk in response.aiter_raw():
            pass
        return response.status_code


async def _run_httpx(
    base_url: str, paths: Sequence[str], seconds: float, concurrency: int, warmup_seconds: float
) -> LoadResult:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=base_url, headers=REQUEST_HEADERS, limits=limits, timeout=REQUEST_TIMEOUT
    ) as client:
        next_path = itertools.cycle(paths)
        latencies: list[float] = []
        errors = 0

        async def worker(deadline: float, measured: bool) -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                path = next(next_path)
                started = time.perf_counter()
                try:
                    status = await _fetch(client, path)
                except httpx.HTTPError:
                    errors += measured
                    continue
                if not measured:
                    continue
                if status == 200:
                    latencies.append((time.perf_counter() - started) * 1000)
                else:
                    errors += 1

        # Not measured: opens the connections and fills the servers' caches. At least
        # one request per connection, however short the warm-up.
        warmup_deadline = time.perf_counter() + warmup_seconds
        await asyncio.gather(
            *(_fetch(client, paths[index % len(paths)]) for index in range(concurrency))
        )
        await asyncio.gather(*(worker(warmup_deadline, False) for _ in range(concurrency)))

        cpu_started = time.process_time()
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(worker(deadline, True) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
    return LoadResult(
        generator="httpx",
        seconds=elapsed,
        requests=len(latencies),
        p50_ms=_percentile(latencies, 50),
        p99_ms=_percentile(latencies, 99),
        errors=errors,
        client_cpu_seconds=cpu,
    )


def _percentile(latencies: list[float], percent: int) -> float:
    if len(latencies) < 2:
        return latencies[0] if latencies else float("nan")
    return statistics.quantiles(latencies, n=100, method="inclusive")[percent - 1]
