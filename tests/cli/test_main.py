"""Bad command-line input gets a clear error naming the value, before anything runs."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from durban_valuations.cli.main import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["scrape", "--roll", "nope"], "'nope' is not one of"),
        (["scrape", "--source", "notaurl"], "invalid URL 'notaurl'"),
        (["scrape", "--source", "ftp://example.org"], "invalid URL 'ftp://example.org'"),
        (["scrape", "--source", "https://example.org/?x=1"], "remove the query"),
        (["scrape", "--rate", "0"], "invalid value 0: use a number at least 0.01"),
        (["scrape", "--concurrency", "100"], "invalid value 100: use a number 1 to 64"),
        (["--log-level", "LOUD", "scrape"], "invalid log level 'LOUD'"),
        (["replica", "--rows", "10"], "invalid value 10: use a number at least 1000"),
    ],
)
def test_bad_flag_rejected(arguments: list[str], expected: str) -> None:
    result = runner.invoke(app, arguments, env={"COLUMNS": "300"})

    assert result.exit_code == 2
    assert expected in " ".join(result.output.split())


def test_bad_setting_names_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUEST_RATE", "fast")

    result = runner.invoke(app, ["db", "upgrade"], env={"COLUMNS": "300"})

    assert result.exit_code == 2
    assert "Invalid setting REQUEST_RATE='fast'" in " ".join(result.output.split())


def test_bad_secret_setting_hides_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_CREDENTIALS", '{"username": "u", "password": "hunter2"}')

    result = runner.invoke(app, ["db", "upgrade"], env={"COLUMNS": "300"})

    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "Invalid setting DATABASE_CREDENTIALS=(hidden)" in output
    assert "lacks host, port, dbname" in output
    assert "hunter2" not in output


def test_db_serve_prints_url_until_sigterm() -> None:
    # A short folder: PostgreSQL's socket path must stay under about 100 characters.
    folder = tempfile.mkdtemp(prefix="dv-serve-", dir="/tmp")
    environment = {**os.environ, "DATA_DIR": folder}
    environment.pop("DATABASE_URL", None)
    command = [sys.executable, "-m", "durban_valuations.cli", "db", "serve"]
    with subprocess.Popen(
        command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            engine = create_engine(url)
            with engine.connect() as connection:
                assert connection.execute(text("SELECT 1")).scalar_one() == 1
            engine.dispose()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
        finally:
            process.kill()
            shutil.rmtree(folder, ignore_errors=True)
