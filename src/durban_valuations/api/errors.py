"""RFC 9457 problem details for every 4xx and 5xx response, produced by one handler."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg.errors import UndefinedColumn, UndefinedTable
from sqlalchemy.exc import OperationalError, ProgrammingError
from starlette.exceptions import HTTPException

from durban_valuations.api.schemas import Error
from durban_valuations.store.cursor import InvalidSortError
from durban_valuations.store.database import DatabaseUrlError
from durban_valuations.store.queries import DatabaseNotReadyError
from durban_valuations.store.search import InvalidSearchError

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"

SCHEMA_NOT_MIGRATED = (
    "database schema is not migrated: a table or column is missing; run "
    "`durban-valuations db upgrade` (GET /ready shows the revision)"
)
DATABASE_UNAVAILABLE = "database is unreachable; check DATABASE_URL and that PostgreSQL is running"

# Valid-value descriptions for parameters whose validator message would show a regex.
EXPECTED_VALUES = {
    "rate_number": "expected 8 digits with leading zeros, for example 00190534",
    "rate_number_contains": "expected 1 to 8 digits, for example 534",
    "sort": "expected one of rate_number, market_value, registered_extent, suburb, "
    "optionally prefixed with '-' for descending order, or relevance with q",
    "since": "expected an ISO 8601 datetime with a time zone, for example 2024-07-01T00:00:00Z",
}


class ApiError(Exception):
    """An error that the handler turns into the standard error response."""

    def __init__(self, status: int, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.parameter = parameter


# Maximum length of a sent value that an error message repeats; a longer one is cut with "...".
SHOWN_VALUE_CHARACTERS = 80


def _value_text(value: object) -> str:
    """Return repr(value), cut to SHOWN_VALUE_CHARACTERS."""
    text = repr(value)
    if len(text) <= SHOWN_VALUE_CHARACTERS:
        return text
    return f"{text[: SHOWN_VALUE_CHARACTERS - 3]}..."


def _validation_error(errors: Sequence[Mapping[str, Any]]) -> ApiError:
    """Describe the first failed parameter: its name, the value sent and what is expected."""
    first = errors[0]
    location = tuple(first.get("loc", ()))
    parameter = str(location[-1]) if len(location) > 1 else None
    expected = EXPECTED_VALUES.get(parameter or "") or str(first.get("msg", "invalid value"))
    if first.get("type") == "missing":
        message = f"missing required parameter {parameter}"
    else:
        value = _value_text(first.get("input"))
        message = f"invalid {parameter} {value}: {expected[0].lower()}{expected[1:]}"
    if len(errors) > 1:
        message += f" ({len(errors) - 1} more invalid parameter(s))"
    return ApiError(422, message, parameter)


def _http_detail(request: Request, error: HTTPException) -> str:
    """Return the detail of a routing error, naming the path and where the routes are listed."""
    if error.status_code == 404 and error.detail == "Not Found":
        return (
            f"no route matches {request.url.path}; the routes are listed in /openapi.json "
            "(data routes start with /v1)"
        )
    if error.status_code == 405 and error.detail == "Method Not Allowed":
        allowed = (error.headers or {}).get("Allow", "GET")
        return f"method {request.method} is not allowed on {request.url.path}; use {allowed}"
    return str(error.detail)


def _as_api_error(request: Request, error: Exception) -> ApiError:
    if isinstance(error, ApiError):
        return error
    if isinstance(error, RequestValidationError):
        return _validation_error(error.errors())
    if isinstance(error, HTTPException):
        return ApiError(error.status_code, _http_detail(request, error))
    if isinstance(error, InvalidSearchError):
        return ApiError(422, str(error), "q")
    if isinstance(error, InvalidSortError):
        return ApiError(422, str(error), "sort")
    if isinstance(error, DatabaseUrlError):
        logger.error("invalid database URL on %s %s: %s", request.method, request.url.path, error)
        return ApiError(503, str(error))
    if isinstance(error, DatabaseNotReadyError):
        logger.error("database not ready on %s %s: %s", request.method, request.url.path, error)
        return ApiError(503, str(error))
    if isinstance(error, ProgrammingError) and isinstance(
        error.orig, UndefinedTable | UndefinedColumn
    ):
        logger.error(
            "database schema not migrated on %s %s: %s",
            request.method,
            request.url.path,
            error.orig,
        )
        return ApiError(503, SCHEMA_NOT_MIGRATED)
    if isinstance(error, OperationalError):
        logger.error("database unreachable on %s %s: %s", request.method, request.url.path, error)
        return ApiError(503, DATABASE_UNAVAILABLE)
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return ApiError(500, "internal server error; the server log has the details")


def problem_title(status: int) -> str:
    """Return the HTTP reason phrase of `status`, the title of an about:blank problem."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def handle_error(request: Request, error: Exception) -> JSONResponse:
    """Turn any error into an RFC 9457 problem details response.

    The response is never stored by caches (`Cache-Control: no-store`), and it keeps the
    headers of a Starlette HTTPException, such as the Allow header of a 405.
    """
    api_error = _as_api_error(request, error)
    body = Error(
        title=problem_title(api_error.status),
        status=api_error.status,
        detail=api_error.message,
        instance=request.url.path,
        parameter=api_error.parameter,
    )
    headers = dict(error.headers or {}) if isinstance(error, HTTPException) else {}
    headers["Cache-Control"] = "no-store"
    return JSONResponse(
        status_code=api_error.status,
        content=body.model_dump(),
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def install_error_handler(app: FastAPI) -> None:
    """Route every error type the API can raise to `handle_error`."""
    for error_type in (
        ApiError,
        RequestValidationError,
        HTTPException,
        InvalidSearchError,
        InvalidSortError,
        DatabaseNotReadyError,
        DatabaseUrlError,
        OperationalError,
        ProgrammingError,
        Exception,
    ):
        app.add_exception_handler(error_type, handle_error)


def problem_response(description: str) -> dict[str, Any]:
    """Return an OpenAPI response entry whose body is the Error schema as problem+json."""
    schema = {"$ref": "#/components/schemas/Error"}
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}}}


def add_error_schema(document: dict[str, Any]) -> None:
    """Add the Error schema to an OpenAPI document whose responses refer to it.

    FastAPI adds only the schemas of models given as `model`, and a `model` response
    is documented as application/json, so problem_response names the schema itself.
    """
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = Error.model_json_schema(ref_template="#/components/schemas/{model}")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: problem_response("Invalid parameter."),
    503: problem_response("Database unreachable or its schema not current."),
}
