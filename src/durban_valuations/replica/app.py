"""The replica as an ASGI app: routing, IIS headers, request validation and the request log."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
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
from durban_valuations.replica.faults import (
    DroppedResponse,
    FaultInjector,
    RequestFaults,
)
from durban_valuations.replica.html_criteria import (
    render_full_title_criteria,
    render_sectional_criteria,
)
from durban_valuations.replica.html_details import render_details_page
from durban_valuations.replica.html_firewall import render_block_page
from durban_valuations.replica.html_frames import (
    BLANK_HTM,
    FOOTER_ASPX,
    HEADER_ASPX,
    PROPERTY_SEARCH_HTM,
    THEME_CSS,
    WEB_RESOURCE_SCRIPT,
    render_search_frameset,
)
from durban_valuations.replica.html_result import WARNING_THRESHOLD, render_result_page
from durban_valuations.replica.index import RollIndex, build_index
from durban_valuations.replica.roll import ReplicaRoll
from durban_valuations.replica.search import cap_results, find_matches, read_criteria
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
    """Log entry of one handled request: method, decoded path, raw query, form keys and status.

    `faults` names the faults injected into the request, in the order they struck.
    """

    method: str
    path: str
    query: str
    form_keys: tuple[str | None, ...]
    status: int
    faults: tuple[str, ...] = ()


@dataclass(slots=True)
class ReplicaState:
    """Served data, configuration and request log of one app.

    Assign a new `roll` to change the data between two scrapes. `faults` counts the injected
    faults by kind (see FAULT_KINDS).
    """

    roll: ReplicaRoll
    config: ReplicaConfig
    requests: list[RequestRecord] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    _injector: FaultInjector | None = None
    _index: RollIndex | None = None
    _criteria_pages: dict[str, str] = field(default_factory=dict)
    _criteria_roll: ReplicaRoll | None = None

    def index(self) -> RollIndex:
        """Return the search index of the current roll, rebuilt after the roll was replaced."""
        if self._index is None or self._index.roll is not self.roll:
            self._index = build_index(self.roll)
        return self._index

    def fault_injector(self) -> FaultInjector:
        """Return the fault injector of the current configuration, rebuilt after it was replaced."""
        if self._injector is None or self._injector.config is not self.config.faults:
            self._injector = FaultInjector(self.config.faults, self.faults)
        return self._injector

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


class SearchResultResponse(Response):
    """The result page, with the number of matches before `max_results` cut them."""

    def __init__(self, body: str, match_count: int) -> None:
        super().__init__(body, media_type="text/html", headers=IIS_HEADERS)
        self.match_count = match_count


def html_response(body: str, status: int = 200, media_type: str = "text/html") -> Response:
    """Return a response with the site's IIS and ASP.NET headers."""
    return Response(body, status_code=status, media_type=media_type, headers=IIS_HEADERS)


def _search_result(state: ReplicaState, query: ValueCollection, raw_query: str) -> Response:
    matches = find_matches(state.index(), read_criteria(query), state.config)
    rows = cap_results(matches, state.config)
    counted = len(matches) if state.config.warning_row_count == "matches" else len(rows)
    page = render_result_page(rows, raw_query, show_warning=counted >= WARNING_THRESHOLD)
    return SearchResultResponse(page, match_count=len(matches))


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
    faults: RequestFaults | None = None,
) -> Response:
    """Route one request to its page. Raises ReplicaServerError for the ASP.NET error pages.

    With `faults`, a database page may fail with an injected SQL error after request
    validation passed.
    """
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
    if faults is not None:
        injected_error = state.fault_injector().database_error(faults, page)
        if injected_error is not None:
            raise injected_error

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
        return _search_result(state, query, raw_query)
    if page == "/framepages/searchdeatils.aspx":
        return _details(state, query, raw_query)
    raise not_found(path)


async def _page_response(
    state: ReplicaState,
    method: str,
    path: str,
    query: ValueCollection,
    form: ValueCollection,
    raw_query: str,
    faults: RequestFaults,
) -> Response:
    """Render the requested page or its error page, waiting first when the search is slow."""
    try:
        response = route(state, method, path, query, form, raw_query, faults)
    except ReplicaServerError as error:
        return html_response(render_error_page(error), status=error.status)
    if isinstance(response, SearchResultResponse):
        delay = state.fault_injector().search_delay(faults, response.match_count)
        if delay > 0:
            await asyncio.sleep(delay)
    return response


def _block_response(state: ReplicaState, request: Request, client_ip: str) -> Response:
    firewall = state.config.faults.firewall
    status = firewall.status if firewall is not None else 200
    host = request.headers.get("host", "")
    url = host + request.scope["raw_path"].decode("latin-1")
    if request.scope["query_string"]:
        url += "?" + request.scope["query_string"].decode("latin-1")
    return Response(render_block_page(url, client_ip), status_code=status, media_type="text/html")


def _network_faults(injector: FaultInjector, faults: RequestFaults, response: Response) -> Response:
    """Replace the response with a dropped connection or a truncated body when one strikes."""
    if injector.should_drop(faults):
        return DroppedResponse(response.body, response.status_code, dict(response.headers))
    truncated = injector.truncate(faults, bytes(response.body))
    if truncated is None:
        return response
    headers = {name: value for name, value in response.headers.items() if name != "content-length"}
    return Response(truncated, status_code=response.status_code, headers=headers)


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
        injector = state.fault_injector()
        faults = injector.begin(path)
        client_ip = request.client.host if request.client is not None else ""
        user_agent = request.headers.get("user-agent", "")

        if injector.firewall_block(faults, client_ip, user_agent):
            response = _block_response(state, request, client_ip)
        else:
            response = await _page_response(
                state, request.method, path, query, form, raw_query, faults
            )
        response = _network_faults(injector, faults, response)

        record = RequestRecord(
            request.method, path, raw_query, tuple(form.keys()), response.status_code,
            tuple(faults.kinds),
        )  # fmt: skip
        state.requests.append(record)
        LOGGER.info(
            "%s %s query=%r form_keys=%s status=%d",
            record.method, record.path, record.query, list(record.form_keys), record.status,
        )  # fmt: skip
        return response

    app = Starlette(routes=[Route("/{path:path}", handle, methods=["GET", "HEAD", "POST"])])
    app.state.replica = state
    return app
