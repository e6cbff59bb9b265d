"""Routes that export every property matching the `GET /properties` filters as one file.

`GET /properties.csv`, `/properties.ndjson` and `/properties.parquet` take the filters
and sort of `GET /properties` and stream the whole listing, so memory does not grow
with the number of rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator, Iterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Request
from sqlalchemy import Connection
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from durban_valuations.api.caching import CACHED_RESPONSES, check_conditional_request
from durban_valuations.api.database import EngineProvider
from durban_valuations.api.errors import ERROR_RESPONSES
from durban_valuations.api.export_formats import ROW_GROUP_ROWS, ExportFormat
from durban_valuations.api.export_names import data_date, export_filename
from durban_valuations.api.paging import reject_unknown_parameters
from durban_valuations.api.params import ExportRequest, export_request
from durban_valuations.config.settings import Settings
from durban_valuations.store.search import check_search_text

router = APIRouter()


class ExportResponse(StreamingResponse):
    """A streamed file download that closes its chunk generator however the response ends.

    Starlette stops iterating when the client disconnects but leaves the generator
    open. Closing it here ends the database query and returns the connection to the
    pool at once, not when the generator is garbage-collected.
    """

    def __init__(
        self, chunks: Generator[bytes, None, None], media_type: str, filename: str
    ) -> None:
        super().__init__(
            chunks,
            media_type=media_type,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
        self._chunks = chunks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Shielded: after a disconnect the enclosing scope is cancelled, and the
            # close must still run. No worker thread is inside the generator by now,
            # because Starlette waits for a running `next` before it stops.
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._chunks.close)


def _chunks_then_close(
    connection: Connection, first: bytes, rest: Iterator[bytes]
) -> Generator[bytes, None, None]:
    try:
        if first:
            yield first
        yield from rest
    finally:
        connection.close()


def _export(request: Request, params: ExportRequest, export_format: ExportFormat) -> ExportResponse:
    settings: Settings = request.app.state.settings
    provider: EngineProvider = request.app.state.engine_provider
    filters = dataclasses.replace(params.filters, roll_year=settings.roll_year)
    file_format = export_format.value

    # The connection outlives this function: the response streams from it and closes it.
    connection = provider.get().connect()
    try:
        # On the export's own connection, so that a 304 costs one query and no second
        # pooled connection.
        check_conditional_request(request, connection)
        if filters.q is not None:
            # The same check as the listing: search text without a word is a 422.
            check_search_text(connection, filters.q)
        filename = export_filename(
            filters, settings.roll_year, data_date(connection, filters), file_format.extension
        )
        chunks = file_format.produce(connection, filters, params.sort)
        # Running the query before the response starts lets a database error become
        # the usual 503 response instead of a download cut short.
        first = next(chunks, b"")
    except BaseException:
        connection.close()
        raise
    return ExportResponse(
        _chunks_then_close(connection, first, chunks), file_format.media_type, filename
    )


def _responses(export_format: ExportFormat, description: str) -> dict[int | str, Any]:
    binary = {"type": "string", "format": "binary"}
    return {
        **CACHED_RESPONSES,
        200: {
            **CACHED_RESPONSES[200],
            "description": description,
            "content": {export_format.value.media_type: {"schema": binary}},
        },
        **ERROR_RESPONSES,
    }


ExportParameters = Annotated[ExportRequest, Depends(export_request)]
_REJECT_UNKNOWN = [Depends(reject_unknown_parameters(export_request))]
_DESCRIPTION = (
    "Download every property that matches the filters, in the sort order, of "
    "`GET /properties`, with the fields of its items. The file streams, so it can hold "
    "the whole roll. Its Content-Disposition header names it after the roll year, the roll, "
    "the filters and the UTC date on which the last complete scrape run of the exported "
    "rolls finished, or the current UTC date when there is none, for example "
    "`durban-valuations-2022-full-suburb-pinetown-2026-12-05.{extension}`."
)


@router.get(
    "/properties.csv",
    status_code=200,
    response_class=ExportResponse,
    responses=_responses(
        ExportFormat.CSV,
        "UTF-8 CSV with a header row. An empty field is null and a quoted empty field "
        '("") an empty text; is_remainder is true or false.',
    ),
    summary="Export properties as CSV",
    description=_DESCRIPTION.format(extension="csv"),
    dependencies=_REJECT_UNKNOWN,
)
def export_csv(request: Request, params: ExportParameters) -> ExportResponse:
    return _export(request, params, ExportFormat.CSV)


@router.get(
    "/properties.ndjson",
    status_code=200,
    response_class=ExportResponse,
    responses=_responses(
        ExportFormat.NDJSON,
        "Newline-delimited JSON: one JSON object per line, with the fields of a "
        "`GET /properties` item.",
    ),
    summary="Export properties as newline-delimited JSON",
    description=_DESCRIPTION.format(extension="ndjson"),
    dependencies=_REJECT_UNKNOWN,
)
def export_ndjson(request: Request, params: ExportParameters) -> ExportResponse:
    return _export(request, params, ExportFormat.NDJSON)


@router.get(
    "/properties.parquet",
    status_code=200,
    response_class=ExportResponse,
    responses=_responses(
        ExportFormat.PARQUET,
        "Apache Parquet file with typed columns: integers for years, pins, use code "
        "numbers and market values (whole rands), decimal(18, 2) for registered extents "
        f"(m²) and boolean for is_remainder. Row groups hold about {ROW_GROUP_ROWS} rows.",
    ),
    summary="Export properties as Parquet",
    description=_DESCRIPTION.format(extension="parquet"),
    dependencies=_REJECT_UNKNOWN,
)
def export_parquet(request: Request, params: ExportParameters) -> ExportResponse:
    return _export(request, params, ExportFormat.PARQUET)
