"""The Gunicorn worker class: Uvicorn from the uvicorn-worker package, without its access log.

`uvicorn.workers.UvicornWorker` is deprecated since uvicorn 0.30 in favour of the
uvicorn-worker package, which has the same class. The app's request middleware writes
one access line per request with the request id, route and duration, so Uvicorn's own
access line would only repeat it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from uvicorn_worker import UvicornWorker  # type: ignore[import-untyped]


class ApiUvicornWorker(UvicornWorker):  # type: ignore[misc]
    """Uvicorn worker with the access log turned off."""

    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {"loop": "auto", "http": "auto", "access_log": False}
