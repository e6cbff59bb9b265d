"""Cursors bound to the filters and sort of the request that issued them, and query checks."""

from __future__ import annotations

import base64
import hashlib
import inspect
import json
from collections.abc import Callable, Coroutine

from fastapi import Request, params

from durban_valuations.api.errors import ApiError
from durban_valuations.store.value_limits import fits_text

# Parameters that may change between the pages of one listing.
PAGING_PARAMETERS = frozenset({"cursor", "limit"})


def listing_fingerprint(request: Request, listing: str = "") -> str:
    """Return a short digest of the request's query parameters other than cursor and limit.

    `listing` tells apart listings whose path, not query, sets a filter.
    """
    items = sorted(
        (name, value)
        for name, value in request.query_params.multi_items()
        if name not in PAGING_PARAMETERS
    )
    # Without `listing`, the digest is that of the query alone, as cursors issued before had.
    keyed: object = [listing, items] if listing else items
    digest = hashlib.sha256(json.dumps(keyed).encode()).digest()
    return base64.urlsafe_b64encode(digest[:9]).decode()


def bind_cursor(token: str | None, fingerprint: str) -> str | None:
    """Prefix a store cursor with the fingerprint of the listing it belongs to."""
    return None if token is None else f"{fingerprint}.{token}"


def unbind_cursor(token: str, fingerprint: str) -> str:
    """Return the store cursor inside `token`, checking that the listing is the same.

    A cursor used with other filters would silently page through another listing, so
    it is rejected with a 422 naming the cursor parameter.
    """
    prefix, separator, inner = token.partition(".")
    if not separator or not inner:
        raise ApiError(
            422, "invalid cursor: expected the next_cursor value of a previous page", "cursor"
        )
    if prefix != fingerprint:
        raise ApiError(
            422,
            "invalid cursor: it was issued for other filters or another sort. Repeat the "
            "request that returned it with the same filters and sort, adding only cursor "
            "(limit may change)",
            "cursor",
        )
    return inner


def _query_parameter_names(function: Callable[..., object]) -> set[str]:
    """Return the parameter names of `function` and of the dependencies it declares."""
    names: set[str] = set()
    for name, parameter in inspect.signature(function, eval_str=True).parameters.items():
        metadata = getattr(parameter.annotation, "__metadata__", ())
        dependencies = [item for item in metadata if isinstance(item, params.Depends)]
        if not dependencies:
            names.add(name)
        for dependency in dependencies:
            if dependency.dependency is not None:
                names |= _query_parameter_names(dependency.dependency)
    return names


def reject_unknown_parameters(
    *functions: Callable[..., object],
) -> Callable[[Request], Coroutine[None, None, None]]:
    """Return a dependency that rejects query parameters the given functions do not take.

    A misspelt filter would otherwise be ignored and the whole roll returned. A parameter
    declared as `Annotated[..., Depends(other)]` contributes the query parameters of `other`.
    """
    allowed: set[str] = set()
    for function in functions:
        allowed |= _query_parameter_names(function)

    expected = sorted(allowed - {"request", "connection"})
    hint = (
        f"expected one of {', '.join(expected)}"
        if expected
        else "this route takes no query parameters"
    )

    # Coroutine functions, here and in reject_nul_characters: FastAPI runs them on the
    # event loop, where a plain function would cost a trip through its thread pool.
    async def check(request: Request) -> None:
        for name in request.query_params:
            if name not in allowed:
                raise ApiError(422, f"unknown query parameter {name!r}: {hint}", name)

    return check


async def reject_nul_characters(request: Request) -> None:
    """Reject a path or query parameter value that contains NUL (U+0000).

    PostgreSQL text never contains NUL, so such a value would fail the query with a
    server error. The app installs this check for every route.
    """
    parameters = [*request.path_params.items(), *request.query_params.multi_items()]
    for name, value in parameters:
        if not fits_text(str(value)):
            raise ApiError(
                422,
                f"invalid {name} {value!r}: it contains a NUL character (\\x00), which no "
                "value in the database can contain; remove it",
                name,
            )
