"""One JSON error shape for every 4xx and 5xx response, produced by one handler."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from durban_valuations.api.schemas import Error, ErrorBody
from durban_valuations.store.cursor import InvalidSortError
from durban_valuations.store.database import DatabaseUrlError
from durban_valuations.store.queries import DatabaseNotReadyError
from durban_valuations.store.search import InvalidSearchError

logger = logging.getLogger(__name__)

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


def _validation_error(errors: Sequence[Mapping[str, Any]]) -> ApiError:
    """Describe the first failed parameter: its name, the value sent and what is expected."""
    first = errors[0]
    location = tuple(first.get("loc", ()))
    parameter = str(location[-1]) if len(location) > 1 else None
    expected = EXPECTED_VALUES.get(parameter or "") or str(first.get("msg", "invalid value"))
    if first.get("type") == "missing":
        message = f"missing required parameter {parameter}"
    else:
        message = f"invalid {parameter} {first.get('input')!r}: {expected[0].lower()}{expected[1:]}"
    if len(errors) > 1:
        message += f" ({len(errors) - 1} more invalid parameter(s))"
    return ApiError(422, message, parameter)


def _as_api_error(request: Request, error: Exception) -> ApiError:
    if isinstance(error, ApiError):
        return error
    if isinstance(error, RequestValidationError):
        return _validation_error(error.errors())
    if isinstance(error, HTTPException):
        return ApiError(error.status_code, str(error.detail))
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
    if isinstance(error, OperationalError):
        logger.error("database unreachable on %s %s: %s", request.method, request.url.path, error)
        return ApiError(503, DATABASE_UNAVAILABLE)
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return ApiError(500, "internal server error; the server log has the details")


async def handle_error(request: Request, error: Exception) -> JSONResponse:
    """Turn any error into `{"error": {"status", "message", "parameter"}}`."""
    api_error = _as_api_error(request, error)
    body = Error(
        error=ErrorBody(
            status=api_error.status, message=api_error.message, parameter=api_error.parameter
        )
    )
    return JSONResponse(status_code=api_error.status, content=body.model_dump())


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
        Exception,
    ):
        app.add_exception_handler(error_type, handle_error)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {"model": Error, "description": "Invalid parameter."},
    503: {"model": Error, "description": "Database unreachable or its schema not current."},
}
