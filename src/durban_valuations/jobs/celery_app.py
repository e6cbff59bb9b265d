"""The scrape as Celery tasks, on a Redis (default) or RabbitMQ broker.

Start a worker and the daily schedule with:

    celery --app durban_valuations.jobs.celery_app worker --loglevel INFO
    celery --app durban_valuations.jobs.celery_app beat

The `scrape` task starts or resumes a run and sends one `crawl_part` task per part of
each roll (CELERY_SCRAPE_PARTS). The workers share the searches through PostgreSQL, as
`durban_valuations.jobs.distributed` describes. No result backend is needed: the run's state and
report live in the database, and the part that ends last closes the run.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import cache
from typing import Any

from celery import Celery, Task
from celery.signals import setup_logging, worker_process_init
from sqlalchemy import Engine

from durban_valuations.alerts import install_alerts
from durban_valuations.config import Settings, get_settings
from durban_valuations.config.log_setup import configure_logging
from durban_valuations.jobs.distributed import (
    PartFailedError,
    PartTask,
    crawl_part,
    start_run,
)
from durban_valuations.site.models import Roll
from durban_valuations.store.database import make_engine
from durban_valuations.store.locks import ScrapeInProgressError

logger = logging.getLogger(__name__)

SCRAPE_TASK = "durban_valuations.scrape"
PART_TASK = "durban_valuations.crawl_part"
# A part waits this long before trying again when the lock is taken or it failed.
PART_RETRY_SECONDS = 30
PART_MAX_RETRIES = 5
ROLL_CHOICES = {
    "all": [Roll.FULL, Roll.SECTIONAL],
    "full": [Roll.FULL],
    "sectional": [Roll.SECTIONAL],
}


def create_celery_app(settings: Settings) -> Celery:
    """Return the Celery app for `settings`: broker, reliability options, beat schedule."""
    celery = Celery("durban_valuations", broker=settings.celery_broker_url)
    celery.conf.update(
        # A task is acknowledged only when done, so a killed worker's part runs again.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        timezone="Africa/Johannesburg",
        worker_hijack_root_logger=False,
        beat_schedule={
            "scrape-every-extraction-interval": {
                "task": SCRAPE_TASK,
                "schedule": timedelta(days=settings.extraction_interval),
            }
        },
    )
    celery.task(name=SCRAPE_TASK, bind=True)(scrape)
    celery.task(name=PART_TASK, bind=True, max_retries=PART_MAX_RETRIES)(run_part)
    return celery


@cache
def worker_engine() -> Engine:
    """Return this process's engine; workers need DATABASE_URL (no embedded server)."""
    settings = get_settings()
    if not settings.database_url:
        raise RuntimeError(
            "DATABASE_URL is not set: Celery workers share one PostgreSQL server, so set "
            "DATABASE_URL to it (the embedded server is for a single process only)"
        )
    return make_engine(settings.database_url)


def scrape(task: Task, rolls: str = "all", source_url: str | None = None) -> dict[str, Any]:
    """Start or resume a run and send its parts to the workers."""
    if rolls not in ROLL_CHOICES:
        raise ValueError(f"rolls={rolls!r} is not one of {', '.join(ROLL_CHOICES)}")
    settings = get_settings()
    try:
        parts = start_run(settings, worker_engine(), ROLL_CHOICES[rolls], source_url)
    except ScrapeInProgressError as error:
        logger.warning("scrape not started: %s", error)
        return {"started": False, "reason": str(error)}
    part_task = task.app.tasks[PART_TASK]
    for part in parts:
        part_task.delay(**_part_arguments(part))
    return {"started": True, "run_id": parts[0].run_id, "parts": len(parts)}


def run_part(task: Task, **arguments: Any) -> dict[str, Any]:
    """Crawl one part; retries later while the lock is taken or after a failure."""
    part = PartTask(**{**arguments, "rolls": tuple(arguments["rolls"])})
    last_attempt = task.request.retries >= PART_MAX_RETRIES
    try:
        result = crawl_part(get_settings(), worker_engine(), part, last_attempt=last_attempt)
    except (ScrapeInProgressError, PartFailedError) as error:
        logger.warning("part %s of run %d retries: %s", part.part, part.run_id, error)
        raise task.retry(countdown=PART_RETRY_SECONDS, exc=error) from error
    if result is None:
        return {"run_id": part.run_id, "closed": False}
    return {"run_id": part.run_id, "closed": True, "status": result.status}


def _part_arguments(part: PartTask) -> dict[str, Any]:
    return {
        "run_id": part.run_id,
        "roll": part.roll,
        "part": part.part,
        "parts": part.parts,
        "tasks_in_run": part.tasks_in_run,
        "base_url": part.base_url,
        "rolls": list(part.rolls),
    }


def _configure_logging(loglevel: str | int | None = None, **_: Any) -> None:
    # The project's log format (JSON off a terminal, secrets redacted, httpx quiet)
    # instead of Celery's own.
    level = logging.getLevelName(loglevel) if isinstance(loglevel, int) else loglevel
    configure_logging(str(level or "INFO"))


setup_logging.connect(_configure_logging, weak=False)


def _install_alerts(**_: Any) -> None:
    # Each worker process mails its own events; incidents in PostgreSQL keep it to one mail.
    install_alerts(get_settings(), worker_engine())


worker_process_init.connect(_install_alerts, weak=False)


app = create_celery_app(get_settings())
