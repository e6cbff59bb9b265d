"""Helpers the commands share: settings with readable errors, the database, summaries."""

from __future__ import annotations

from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from durban_valuations.config import Settings
from durban_valuations.config.settings import setting_problems
from durban_valuations.jobs.scrape import ScrapeResult
from durban_valuations.site.models import Roll
from durban_valuations.store.database import (
    DatabaseUrlError,
    make_engine,
    resolve_database_url,
)
from durban_valuations.store.migrations import upgrade_database

console = Console(stderr=True)


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning a validation error into a message naming each variable."""
    try:
        settings = Settings()
        return settings.model_copy(update=overrides) if overrides else settings
    except ValidationError as error:
        for line in setting_problems(error):
            console.print(f"[red]{escape(line)}[/red]")
        raise typer.Exit(code=2) from None


def open_database(settings: Settings) -> tuple[str, Engine]:
    """Resolve the database URL (starting the embedded server if needed) and migrate it.

    Exits with code 2 and a one-line message naming DATABASE_URL when the URL is invalid
    or the server cannot be reached.
    """
    try:
        url = resolve_database_url(settings)
    except DatabaseUrlError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(code=2) from None
    try:
        upgrade_database(url)
    except OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        where = "DATABASE_URL" if settings.database_url else f"the embedded server in {url}"
        console.print(
            f"[red]could not connect to the database ({reason}). "
            f"Check {where}: is the server running and reachable?[/red]"
        )
        raise typer.Exit(code=2) from None
    return url, make_engine(url)


def print_summary(result: ScrapeResult) -> None:
    """Print the coverage of a run as a table on standard error."""
    title = f"Run {result.run_id}: {result.status}" + (" (resumed)" if result.resumed else "")
    table = Table(title=title)
    # The dimensions the run used, in the order of its first report.
    dimensions: list[str] = []
    for report in result.reports:
        for name in report["properties_only_in"]:
            if name not in dimensions:
                dimensions.append(name)
    columns: tuple[str, ...] = ("roll", "searches", "splits", "failed", "properties")
    columns += tuple(f"only by {name.replace('_', ' ')}" for name in dimensions)
    for column in columns:
        table.add_column(column, justify="left" if column == "roll" else "right")

    for report in result.reports:
        only = report["properties_only_in"]
        table.add_row(
            report["roll"],
            str(report["searches"]),
            str(report["splits"]),
            str(len(report["failed_searches"])),
            str(report["properties"]),
            *(str(only.get(name, "-")) for name in dimensions),
        )
    console.print(table)

    console.print(
        f"inserted {result.inserted}, updated {result.updated}, unchanged {result.unchanged}, "
        f"marked not seen {result.not_seen}, details fetched {result.details_fetched}"
    )

    for report in result.reports:
        for failure in report["failed_searches"][:10]:
            console.print(f"[red]failed search {failure['search']}: {failure['error']}[/red]")
    if result.suspect_reason:
        console.print(f"[yellow]run marked suspect: {result.suspect_reason}[/yellow]")
    if result.deadline_reached:
        console.print("[yellow]deadline reached: run the same command again to resume[/yellow]")
    if result.error:
        console.print(f"[red]{result.error}[/red]")


def rolls_for(choice: str) -> list[Roll]:
    """Return the rolls selected by a --roll value."""
    return [Roll.FULL, Roll.SECTIONAL] if choice == "all" else [Roll(choice)]
