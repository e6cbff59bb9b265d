"""The first command of the README: replica, complete scrape, then the API."""

from __future__ import annotations

import logging
import time

import typer

from durban_valuations.cli.common import console, load_settings, open_database, print_summary
from durban_valuations.cli.progress import CrawlProgress
from durban_valuations.jobs.scrape import run_scrape
from durban_valuations.site.models import Roll

# The replica runs on this machine, so the demo may ask far more of it than the live
# site's polite defaults (REQUEST_RATE, REQUEST_CONCURRENCY) allow.
DEMO_REQUEST_RATE = 1000.0
DEMO_CONCURRENCY = 4


def run_demo(rows: int, api_port: int) -> None:
    """Scrape a freshly started replica into the database of the settings and serve the API."""
    import uvicorn

    from durban_valuations.api.app import create_app
    from durban_valuations.replica.server import running_replica

    settings = load_settings(
        request_rate=DEMO_REQUEST_RATE, request_concurrency=DEMO_CONCURRENCY, api_port=api_port
    )
    started = time.monotonic()
    console.print("starting the database (embedded PostgreSQL unless DATABASE_URL is set)")
    _, engine = open_database(settings)

    console.print("starting the replica of the municipal site on 127.0.0.1")
    # The replica logs every request it serves; in the demo that would bury the progress.
    logging.getLogger("durban_valuations.replica").setLevel(logging.WARNING)
    with running_replica(rows=rows) as site:
        console.print(f"replica serving {site.url}, scraping both rolls")
        with CrawlProgress(console) as display:
            result = run_scrape(
                settings,
                engine,
                rolls=[Roll.FULL, Roll.SECTIONAL],
                source_url=site.url,
                progress=display.listener,
            )
    print_summary(result)
    if result.status != "complete":
        console.print("[red]the scrape did not complete: see the errors above[/red]")
        raise typer.Exit(code=1)

    address = f"http://{settings.api_host}:{api_port}"
    console.print(f"scrape finished in {time.monotonic() - started:.0f} s")
    console.print(f"API: {address}  (documentation: {address}/docs)")
    console.print(f"try: curl '{address}/v1/properties?rate_number=00190534'")
    uvicorn.run(
        create_app(engine, settings=settings),
        host=settings.api_host,
        port=api_port,
        access_log=False,
    )
