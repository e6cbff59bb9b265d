"""Bad command-line input gets a clear error naming the value, before anything runs."""

from __future__ import annotations

import pytest
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
