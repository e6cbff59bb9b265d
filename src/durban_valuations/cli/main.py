"""The `durban-valuations` command."""

from __future__ import annotations

import asyncio
import enum
import signal
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer

from durban_valuations.alerts import install_alerts
from durban_valuations.cli.common import (
    console,
    load_settings,
    open_database,
    print_summary,
    rolls_for,
)
from durban_valuations.cli.demo import run_demo
from durban_valuations.cli.progress import CrawlProgress
from durban_valuations.config import Settings
from durban_valuations.config.log_setup import configure_logging
from durban_valuations.jobs.schedule import DEFAULT_TIMEZONE, ScrapeScheduler, scrape_job
from durban_valuations.jobs.scrape import run_scrape
from durban_valuations.replica.generate import DEFAULT_ROWS
from durban_valuations.site.client import SiteClient
from durban_valuations.site.errors import SiteError
from durban_valuations.site.models import CriteriaOptions, Roll
from durban_valuations.store.locks import ScrapeInProgressError
from durban_valuations.store.migrations import current_revision

app = typer.Typer(
    help="Scrape eThekwini's General Valuation Roll into PostgreSQL and serve it over an API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


class RollChoice(enum.StrEnum):
    """Values of --roll."""

    FULL = "full"
    SECTIONAL = "sectional"
    ALL = "all"


def _validate_source(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise typer.BadParameter(
            f"invalid URL {value!r}: give the http(s) root of the site, "
            "for example https://valuation2022.durban.gov.za"
        )
    if parts.query or parts.fragment:
        raise typer.BadParameter(
            f"invalid URL {value!r}: remove the query or fragment and give only the site root"
        )
    return value.rstrip("/")


def _in_range(
    minimum: float, maximum: float | None = None
) -> Callable[[float | None], float | None]:
    """Return an option callback that rejects values outside [minimum, maximum], naming them."""

    def check(value: float | None) -> float | None:
        if value is None:
            return None
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"at least {minimum:g}" if maximum is None else f"{minimum:g} to {maximum:g}"
            raise typer.BadParameter(f"invalid value {value:g}: use a number {bounds}")
        return value

    return check


@app.callback()
def main(
    log_level: Annotated[
        str, typer.Option(help="Log level: DEBUG, INFO, WARNING or ERROR.")
    ] = "INFO",
) -> None:
    """Set up logging for every command."""
    level = log_level.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise typer.BadParameter(
            f"invalid log level {log_level!r}: use DEBUG, INFO, WARNING or ERROR",
            param_hint="--log-level",
        )
    configure_logging(level)


# Options that several commands share.
SourceOption = Annotated[
    str | None,
    typer.Option(help="Site root URL (default: VALUATION_SITE_URL).", callback=_validate_source),
]
ScrapeRollOption = Annotated[
    RollChoice, typer.Option(help="Roll to scrape: full, sectional or all.")
]


@app.command()
def scrape(
    roll: ScrapeRollOption = RollChoice.ALL,
    suburb: Annotated[
        list[str] | None,
        typer.Option(help="Scrape only this suburb, named as the site lists it. Repeatable."),
    ] = None,
    source: SourceOption = None,
    details: Annotated[
        bool, typer.Option(help="Also fetch each property's details page (owners, codes).")
    ] = False,
    rate: Annotated[
        float | None,
        typer.Option(
            callback=_in_range(0.01), help="Requests per second (overrides REQUEST_RATE)."
        ),
    ] = None,
    deadline: Annotated[
        float | None,
        typer.Option(
            callback=_in_range(0.1),
            help="Stop cleanly after this many minutes; the next scrape resumes the run.",
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            callback=_in_range(1, 64), help="Requests in flight (overrides REQUEST_CONCURRENCY)."
        ),
    ] = None,
) -> None:
    """Scrape the roll into the database. Exits with code 1 unless the run is complete."""
    overrides: dict[str, object] = {}
    if rate is not None:
        overrides["request_rate"] = rate
    if concurrency is not None:
        overrides["request_concurrency"] = concurrency
    settings = load_settings(**overrides)
    _, engine = open_database(settings)
    uninstall_alerts = install_alerts(settings, engine)
    # SIGTERM (a container or CronJob stopping) ends the run cleanly as interrupted.
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda number, frame: stop.set())
    try:
        with CrawlProgress(console) as display:
            result = run_scrape(
                settings,
                engine,
                rolls=rolls_for(roll.value),
                suburb_names=suburb or None,
                source_url=source,
                fetch_details=details,
                deadline_seconds=None if deadline is None else deadline * 60,
                progress=display.listener,
                stop=stop,
            )
    except ScrapeInProgressError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(code=2) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        uninstall_alerts()
    print_summary(result)
    if result.status != "complete":
        raise typer.Exit(code=1)


@app.command("suburbs")
def list_site_suburbs(
    roll: Annotated[
        RollChoice, typer.Option(help="Roll whose criteria page is read: full or sectional.")
    ] = RollChoice.FULL,
    source: SourceOption = None,
) -> None:
    """Print the suburb names (and option ids) that --suburb accepts, read from the site."""
    if roll is RollChoice.ALL:
        raise typer.BadParameter("invalid roll 'all': use full or sectional", param_hint="--roll")
    settings = load_settings()
    try:
        options = asyncio.run(_fetch_options(settings, source, Roll(roll.value)))
    except SiteError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(code=1) from None
    for option in sorted(options.suburbs, key=lambda item: (item.text.casefold(), item.value)):
        print(f"{option.value}\t{option.text}")


async def _fetch_options(settings: Settings, source: str | None, roll: Roll) -> CriteriaOptions:
    async with SiteClient.from_settings(settings, base_url=source) as client:
        return await client.fetch_criteria(roll)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default: API_HOST).")] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port (default: API_PORT).")
    ] = None,
) -> None:
    """Serve the read API with uvicorn."""
    import uvicorn

    from durban_valuations.api.app import create_app

    settings = load_settings()
    _, engine = open_database(settings)
    uvicorn.run(
        create_app(engine, settings=settings),
        host=host or settings.api_host,
        port=port or settings.api_port,
        # The app logs one access line per request itself, with its request id.
        access_log=False,
    )


def _parse_time_of_day(value: str | None) -> str | None:
    if value is None:
        return value
    try:
        datetime.strptime(value, "%H:%M")
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a time of day; give hours and minutes, e.g. 02:30"
        ) from None
    return value


@app.command()
def schedule(
    roll: ScrapeRollOption = RollChoice.ALL,
    source: SourceOption = None,
    at: Annotated[
        str | None,
        typer.Option(
            callback=_parse_time_of_day,
            help="Time of day of the runs, HH:MM (default: the first run starts at once).",
        ),
    ] = None,
    timezone: Annotated[
        str, typer.Option(help="Time zone of --at and of the logged run times.")
    ] = DEFAULT_TIMEZONE,
    interval_seconds: Annotated[
        float | None,
        typer.Option(hidden=True, callback=_in_range(0.1), help="Interval for tests."),
    ] = None,
) -> None:
    """Scrape every EXTRACTION_INTERVAL days until SIGTERM or Ctrl-C, one run at a time."""
    settings = load_settings()
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise typer.BadParameter(
            f"{timezone!r} is not a known time zone; use an IANA name such as Africa/Johannesburg",
            param_hint="--timezone",
        ) from None
    _, engine = open_database(settings)
    interval = timedelta(days=settings.extraction_interval)
    if interval_seconds is not None:
        interval = timedelta(seconds=interval_seconds)
    uninstall = install_alerts(settings, engine)
    try:
        scheduler = ScrapeScheduler(
            scrape_job(settings, engine, rolls_for(roll.value), source),
            interval,
            at=None if at is None else datetime.strptime(at, "%H:%M").time(),
            timezone=zone.key,
        )
        scheduler.run_until_signal()
    finally:
        uninstall()


@app.command()
def replica(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8022,
    rows: Annotated[
        int,
        typer.Option(callback=_in_range(1000), help="Properties to generate across both rolls."),
    ] = DEFAULT_ROWS,
    seed: Annotated[int, typer.Option(help="Seed of the generated roll.")] = 2022,
    ground_truth: Annotated[
        str | None, typer.Option(help="Write every served property to this JSON Lines file.")
    ] = None,
) -> None:
    """Serve a local replica of the municipal site on 127.0.0.1, for tests and demos."""
    from durban_valuations.replica.server import serve as serve_replica

    serve_replica(port=port, rows=rows, seed=seed, ground_truth_path=ground_truth)


@app.command()
def demo(
    rows: Annotated[
        int, typer.Option(callback=_in_range(1000), help="Properties the replica generates.")
    ] = DEFAULT_ROWS,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the API.")] = 8000,
) -> None:
    """Start a replica of the site, scrape both rolls into the embedded database, serve the API."""
    run_demo(rows=rows, api_port=port)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every database migration (creates the tables on a new database)."""
    settings = load_settings()
    url, _ = open_database(settings)
    console.print(f"database migrated to revision {current_revision(url)}: {_redact(url)}")


@db_app.command("serve")
def db_serve() -> None:
    """Keep the embedded PostgreSQL running and print its URL, for workers and Gunicorn.

    Other processes (Celery workers, Gunicorn) then use it with DATABASE_URL set to the
    printed URL. Stops the server at SIGTERM or Ctrl-C unless another process uses it.
    """
    settings = load_settings()
    if settings.database_url:
        console.print(
            "[red]DATABASE_URL is set, so there is no embedded server to run; unset it to "
            "start the embedded PostgreSQL in DATA_DIR[/red]"
        )
        raise typer.Exit(code=2)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda number, frame: stop.set())
    url, _ = open_database(settings)
    print(url, flush=True)
    console.print(
        f"embedded PostgreSQL at revision {current_revision(url)}; set DATABASE_URL to the "
        "URL above in other processes. Ctrl-C or SIGTERM stops it."
    )
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
