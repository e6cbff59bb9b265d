"""The replica as an ASGI app: routing, IIS headers, request validation and the request log."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from durban_valuations.replica.aspnet import (
    ValueCollection,
    find_dangerous_value,
    find_invalid_path_character,
    parse_query,
)
from durban_valuations.replica.config import ReplicaConfig
from durban_valuations.replica.errors import (
    ReplicaServerError,
    dangerous_path,
    dangerous_value,
    index_out_of_range,
    input_format_error,
    not_found,
    render_error_page,
    unknown_pin,
)
from durban_valuations.replica.html_criteria import (
    render_full_title_criteria,
    render_sectional_criteria,
)
from durban_valuations.replica.html_details import render_details_page
from durban_valuations.replica.html_frames import (
    BLANK_HTM,
    FOOTER_ASPX,
    HEADER_ASPX,
    PROPERTY_SEARCH_HTM,
    THEME_CSS,
    WEB_RESOURCE_SCRIPT,
    render_search_frameset,
)
from durban_valuations.replica.html_result import render_result_page
from durban_valuations.replica.roll import ReplicaRoll
from durban_valuations.replica.search import RollIndex, build_index, read_criteria, search
from durban_valuations.replica.searchtype import (
    handle_postback,
    render_object_moved,
    render_search_type,
)

LOGGER = logging.getLogger("durban_valuations.replica")
IIS_HEADERS = {
    "Server": "Microsoft-IIS/10.0",
    "X-Powered-By": "ASP.NET",
    "X-AspNet-Version": "4.0.30319",
    "Cache-Control": "private",
}
_INT32 = re.compile(r"^\s*[+-]?\d+\s*$")
_FIXED_PAGES = {
    "/propertysearch.htm": PROPERTY_SEARCH_HTM,
    "/framepages/header.aspx": HEADER_ASPX,
    "/framepages/footer.aspx": FOOTER_ASPX,
    "/framepages/search.aspx": render_search_frameset("1"),
    "/framepages/search2.aspx": render_search_frameset("2"),
    "/framepages/blank.htm": BLANK_HTM,
}
_ASSETS = {
    "/webresource.axd": (WEB_RESOURCE_SCRIPT, "application/javascript"),
    "/app_themes/default/default.css": (THEME_CSS, "text/css"),
    "/app_themes/pindetails/pindetails.css": (THEME_CSS, "text/css"),
}


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """Log entry of one handled request: method, decoded path, raw query, form keys and status."""

    method: str
    path: str
    query: str
    form_keys: tuple[str | None, ...]
    status: int


@dataclass(slots=True)
class ReplicaState:
    """Served data, configuration and request log of one app.

    Assign a new `roll` to change the data between two scrapes.
    """

    roll: ReplicaRoll
    config: ReplicaConfig
    requests: list[RequestRecord] = field(default_factory=list)
    _index: RollIndex | None = None
    _criteria_pages: dict[str, str] = field(default_factory=dict)
    _criteria_roll: ReplicaRoll | None = None

    def index(self) -> RollIndex:
        """Return the search index of the current roll, rebuilt after the roll was replaced."""
        if self._index is None or self._index.roll is not self.roll:
            self._index = build_index(self.roll)
        return self._index

    def criteria_page(self, path: str) -> str:
        """Return a rendered criteria page of the current roll, rendering it once per roll."""
        if self._criteria_roll is not self.roll:
            self._criteria_pages = {}
            self._criteria_roll = self.roll
        if path not in self._criteria_pages:
            if path == "/framepages/searchcrit.aspx":
                page = render_full_title_criteria(self.roll, self.config.deeds_town_placeholder)
            else:
                page = render_sectional_criteria(self.roll)
            self._criteria_pages[path] = page
        return self._criteria_pages[path]


def html_response(body: str, status: int = 200, media_type: str = "text/html") -> Response:
    """Return a response with the site's IIS and ASP.NET headers."""
    return Response(body, status_code=status, media_type=media_type, headers=IIS_HEADERS)


def _parse_int32(text: str) -> int:
    if not _INT32.match(text):
        raise input_format_error()
    value = int(text)
    if not -(2**31) <= value < 2**31:
        raise input_format_error()
    return value


def _details(state: ReplicaState, query: ValueCollection, raw_query: str) -> Response:
    """Render SearchDeatils.aspx, which reads its parameters by position: PIN, PType, FType."""
    if len(query) < 3:
        raise index_out_of_range()
    pin, _ptype, _ftype = (_parse_int32(query.get_at(position)) for position in range(3))
    prop = state.index().by_pin.get(pin)
    if prop is None and state.config.unknown_pin_error:
        raise unknown_pin(pin)
    return html_response(render_details_page(prop, raw_query))


def _search_type(state: ReplicaState, method: str, form: ValueCollection) -> Response:
    key = state.config.viewstate_key
    if method != "POST":
        return html_response(render_search_type(handle_postback(ValueCollection([]), key), key))
    outcome = handle_postback(form, key)
    if outcome.redirect_to is None:
        return html_response(render_search_type(outcome, key))
    response = html_response(render_object_moved(outcome.redirect_to), status=302)
    response.headers["Location"] = outcome.redirect_to
    return response


def route(
    state: ReplicaState,
    method: str,
    path: str,
    query: ValueCollection,
    form: ValueCollection,
    raw_query: str,
) -> Response:
    """Route one request to its page. Raises ReplicaServerError for the ASP.NET error pages."""
    invalid_character = find_invalid_path_character(path)
    if invalid_character is not None:
        raise dangerous_path(invalid_character)
    page = "/propertysearch.htm" if path in {"", "/"} else path.casefold()
    if page.endswith(".aspx"):
        # .NET 4 validates every page's input, even SearchType's with ValidateRequest="false".
        for collection_name, collection in (("QueryString", query), ("Form", form)):
            rejected = find_dangerous_value(collection)
            if rejected is not None:
                raise dangerous_value(collection_name, *rejected)

    if page in _FIXED_PAGES:
        return html_response(_FIXED_PAGES[page])
    if page in _ASSETS:
        text, media_type = _ASSETS[page]
        return html_response(text, media_type=media_type)
    if page == "/framepages/searchtype.aspx":
        return _search_type(state, method, form)
    if page in {"/framepages/searchcrit.aspx", "/framepages/searchcrit2.aspx"}:
        return html_response(state.criteria_page(page))
    if page == "/framepages/searchresult.aspx":
        matches = search(state.index(), read_criteria(query), state.config)
        return html_response(render_result_page(matches, raw_query))
    if page == "/framepages/searchdeatils.aspx":
        return _details(state, query, raw_query)
    raise not_found(path)


def create_app(roll: ReplicaRoll, config: ReplicaConfig | None = None) -> Starlette:
    """Create the ASGI app serving `roll`; its swappable ReplicaState is `app.state.replica`."""
    state = ReplicaState(roll=roll, config=config or ReplicaConfig())

    async def handle(request: Request) -> Response:
        raw_query = request.scope["query_string"].decode("latin-1")
        form_text = ""
        if request.method == "POST":
            form_text = (await request.body()).decode("utf-8", errors="replace")
        query = parse_query(raw_query)
        form = parse_query(form_text)
        path: str = request.scope["path"]
        try:
            response = route(state, request.method, path, query, form, raw_query)
        except ReplicaServerError as error:
            response = html_response(render_error_page(error), status=error.status)
        record = RequestRecord(
            request.method, path, raw_query, tuple(form.keys()), response.status_code
        )
        state.requests.append(record)
        LOGGER.info(
            "%s %s query=%r form_keys=%s status=%d",
            record.method, record.path, record.query, list(record.form_keys), record.status,
        )  # fmt: skip
        return response

    app = Starlette(routes=[Route("/{path:path}", handle, methods=["GET", "HEAD", "POST"])])
    app.state.replica = state
    return app
