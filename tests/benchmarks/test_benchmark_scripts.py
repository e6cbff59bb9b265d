"""Each benchmark script runs to its report on tiny inputs, so a code change cannot break one
unnoticed. These runs measure nothing: the numbers come from full-size runs only."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("script", "arguments", "expected"),
    [
        ("scrape_replica.py", ["--rows", "2000"], "status: complete"),
        ("crawl_full.py", ["--rows", "2000", "--port", "PORT"], "status: complete"),
        (
            "parse_results.py",
            ["--pages", "1", "--repeats", "1", "--stream-rows", "2000"],
            "peak RSS growth",
        ),
        ("upsert_vs_copy.py", ["--rows", "500", "--repeat", "1"], "rows/s"),
        ("export_memory.py", ["--rows", "600", "--steps", "2", "--repeat", "1"], "peak RSS growth"),
        (
            "api_vs_datasette.py",
            [
                "--rows",
                "2000",
                "--seconds",
                "1",
                "--concurrency",
                "4",
                "--workers",
                "2",
                "--repeat",
                "1",
                "--warmup",
                "0.5",
                "--no-datasette",
            ],
            "| free-text search |",
        ),
        (
            "api_vs_datasette.py",
            [
                "--rows",
                "1000",
                "--seconds",
                "1",
                "--concurrency",
                "2",
                "--workers",
                "1",
                "--repeat",
                "1",
                "--warmup",
                "0.5",
                "--load",
                "httpx",
                "--response-cache-mb",
                "0",
                "--no-datasette",
            ],
            "(httpx) |",
        ),
    ],
)
def test_benchmark_script_runs(script: str, arguments: list[str], expected: str) -> None:
    arguments = [str(free_port()) if argument == "PORT" else argument for argument in arguments]

    finished = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert finished.returncode == 0, finished.stderr[-2000:]
    assert expected in finished.stdout


def test_api_vs_datasette_names_install_command(tmp_path: Path) -> None:
    missing = tmp_path / "datasette"

    finished = subprocess.run(
        [sys.executable, str(BENCHMARKS / "api_vs_datasette.py"), "--datasette", str(missing)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert finished.returncode != 0
    assert "pip install datasette" in finished.stderr
    assert "--no-datasette" in finished.stderr
