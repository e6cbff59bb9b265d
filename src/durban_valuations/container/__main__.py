"""Start one role of the container image: `python -m durban_valuations.container ROLE`.

The image's CMD names the role. Each role replaces this process with its program, so the
program receives the container runtime's signals (SIGTERM on stop) directly.
"""

from __future__ import annotations

import os
import sys

CELERY_APP = "durban_valuations.jobs.celery_app"

ROLES: dict[str, list[str]] = {
    "api": ["gunicorn", "--config", "python:durban_valuations.api.gunicorn_conf"],
    "scheduler": ["durban-valuations", "schedule"],
    "worker": ["celery", "--app", CELERY_APP, "worker", "--loglevel", "INFO"],
    "beat": ["celery", "--app", CELERY_APP, "beat", "--loglevel", "INFO"],
    "migrate": ["durban-valuations", "db", "upgrade"],
    "scrape": ["durban-valuations", "scrape"],
}


def command_for(arguments: list[str]) -> list[str]:
    """Return the program and arguments of a role; extra arguments are passed on.

    Raises SystemExit with a message naming the roles when the role is missing or unknown.
    """
    if not arguments or arguments[0] not in ROLES:
        role = repr(arguments[0]) if arguments else "nothing"
        raise SystemExit(
            f"invalid container role {role}: use one of {', '.join(ROLES)}, "
            "for example `docker run IMAGE api`"
        )
    return ROLES[arguments[0]] + arguments[1:]


def main() -> None:
    """Replace this process with the program of the role named on the command line."""
    command = command_for(sys.argv[1:])
    os.execvp(command[0], command)  # noqa: S606 - the roles are fixed above


if __name__ == "__main__":
    main()
