"""Gunicorn settings: worker count, bind address, metrics folder, and the loaded config."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from durban_valuations.api.gunicorn_conf import (
    MAX_DEFAULT_WORKERS,
    bind_addresses,
    prepare_metrics_directory,
    worker_count,
)

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("cpus", "expected"), [(1, 3), (2, 5), (3, 7), (16, MAX_DEFAULT_WORKERS)])
def test_worker_count_from_cpus(cpus: int, expected: int) -> None:
    assert worker_count(environ={}, cpus=cpus) == expected


def test_worker_count_from_web_concurrency() -> None:
    assert worker_count(environ={"WEB_CONCURRENCY": "12"}, cpus=1) == 12


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_worker_count_invalid(value: str) -> None:
    with pytest.raises(ValueError, match=f"invalid WEB_CONCURRENCY '{re.escape(value)}'"):
        worker_count(environ={"WEB_CONCURRENCY": value})


def test_bind_from_gunicorn_bind() -> None:
    environ = {"GUNICORN_BIND": "127.0.0.1:9000, unix:/run/durban/api.sock"}

    assert bind_addresses(environ) == ["127.0.0.1:9000", "unix:/run/durban/api.sock"]


@pytest.mark.parametrize(("host", "expected"), [("0.0.0.0", "0.0.0.0:9001"), ("::", "[::]:9001")])
def test_bind_from_api_host_port(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, host: str, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("API_HOST", host)
    monkeypatch.setenv("API_PORT", "9001")

    assert bind_addresses({}) == [expected]


def test_bind_invalid_port(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("API_PORT", "http")

    with pytest.raises(ValueError, match="invalid settings API_PORT"):
        bind_addresses({})


def test_bind_names_every_invalid_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("API_RESPONSE_CACHE_MB", "-1")
    monkeypatch.setenv("API_RUN_CACHE_SECONDS", "lots")

    with pytest.raises(ValueError, match="invalid settings API_RESPONSE_CACHE_MB") as raised:
        bind_addresses({})

    message = str(raised.value)
    assert "API_RESPONSE_CACHE_MB='-1': Input should be greater than or equal to 0" in message
    assert "API_RUN_CACHE_SECONDS='lots': Input should be a valid number" in message
    assert "see .env.example" in message


def test_metrics_directory_cleared(tmp_path: Path) -> None:
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "histogram_101.db").write_bytes(b"old")
    (folder / "README").write_text("kept")

    directory, created = prepare_metrics_directory({"PROMETHEUS_MULTIPROC_DIR": str(folder)})

    assert (directory, created) == (folder, False)
    assert sorted(path.name for path in folder.iterdir()) == ["README"]


def test_metrics_directory_created() -> None:
    environ: dict[str, str] = {}

    directory, created = prepare_metrics_directory(environ)

    try:
        assert created
        assert directory.is_dir()
        assert environ["PROMETHEUS_MULTIPROC_DIR"] == str(directory)
    finally:
        shutil.rmtree(directory)


def _print_config(tmp_path: Path, **environment: str) -> dict[str, str]:
    """Return the settings that `gunicorn -c gunicorn.conf.py --print-config` shows."""
    cleared = ("WEB_CONCURRENCY", "GUNICORN_BIND", "GUNICORN_CMD_ARGS", "FORWARDED_ALLOW_IPS")
    env = {key: value for key, value in os.environ.items() if key not in cleared}
    # --print-config imports the app, which needs a DATABASE_URL but does not connect.
    env.update(
        XDG_RUNTIME_DIR=str(tmp_path),
        DATABASE_URL="postgresql://valuer@127.0.0.1:5432/durban",
        **environment,
    )
    config_file = str(REPOSITORY / "gunicorn.conf.py")
    completed = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", config_file, "--print-config"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    settings = {}
    for line in completed.stdout.splitlines():
        name, separator, value = line.partition(" = ")
        if separator:
            settings[name.strip()] = value.strip()
    return settings


def test_config_file_settings(tmp_path: Path) -> None:
    settings = _print_config(
        tmp_path,
        WEB_CONCURRENCY="3",
        GUNICORN_BIND="127.0.0.1:9999",
        FORWARDED_ALLOW_IPS="10.0.0.5",
    )

    assert settings["wsgi_app"] == "durban_valuations.api.server:app"
    assert settings["worker_class"] == "durban_valuations.api.gunicorn_worker.ApiUvicornWorker"
    assert settings["workers"] == "3"
    assert settings["bind"] == "['127.0.0.1:9999']"
    assert settings["graceful_timeout"] == "30"
    assert settings["preload_app"] == "False"
    assert settings["max_requests_jitter"] == "100000"
    assert settings["accesslog"] == "None"
    assert settings["forwarded_allow_ips"] == "['10.0.0.5']"
    assert settings["child_exit"] == "<child_exit()>"
    assert settings["on_starting"] == "<on_starting()>"


def test_config_cmd_args_override(tmp_path: Path) -> None:
    settings = _print_config(tmp_path, GUNICORN_CMD_ARGS="--timeout 90 --workers 4")

    assert settings["timeout"] == "90"
    assert settings["workers"] == "4"


def test_config_imports_no_prometheus() -> None:
    # prometheus-client picks multiprocess mode when first imported, so the master must
    # not import it before on_starting sets PROMETHEUS_MULTIPROC_DIR.
    code = (
        "import sys, durban_valuations.api.gunicorn_conf, durban_valuations.api.gunicorn_worker;"
        "print('prometheus_client' in sys.modules)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )

    assert completed.stdout.strip() == "False"
