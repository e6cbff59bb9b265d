"""The fast path and the incremental parser return what the tree reader returns.

Each page is parsed by `parse_result_page_with_tree` (the reference), by `parse_result_page`,
and by `ResultPageParser` fed in chunks of 1, 7, 4096 and 65536 bytes. The incremental parser
runs once with its own step size and once with a step of a few rows, so that small pages are
also read across many steps. The parsed page, or the error type, message and URL, must be
identical.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from durban_valuations.replica.generate import generate_roll
from durban_valuations.replica.html_result import render_result_page, xslt_text
from durban_valuations.replica.roll import Property, ReplicaRoll
from durban_valuations.site import parse_results
from durban_valuations.site.errors import SiteError
from durban_valuations.site.models import ResultPage
from durban_valuations.site.page_checks import check_page, decode_page
from durban_valuations.site.parse_results import (
    ResultPageParser,
    parse_result_page,
    parse_result_page_fast,
    parse_result_page_with_tree,
)

PAGES = Path(__file__).parent / "pages"
URL = "http://127.0.0.1:9/FramePages/SearchResult.aspx?Roll=1"
CHUNK_SIZES = (1, 7, 4096, 65536)
SMALL_STEP_CHARS = 3000

Outcome = tuple[str, object, object]


def outcome(parse: Callable[[], ResultPage]) -> Outcome:
    """Return ("page", page, None) or the error's type name, message and URL."""
    try:
        return ("page", parse(), None)
    except SiteError as error:
        return (type(error).__name__, str(error), error.url)


def parse_in_chunks(body: bytes, chunk_size: int) -> ResultPage:
    parser = ResultPageParser(URL)
    for start in range(0, len(body), chunk_size):
        parser.feed(body[start : start + chunk_size])
    return parser.close()


@pytest.fixture(params=["default step", "small step"])
def step_chars(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.param == "small step":
        monkeypatch.setattr(parse_results, "_STEP_CHARS", SMALL_STEP_CHARS)


def assert_same_outcomes(body: bytes, chunk_size: int) -> Outcome:
    """Assert that all readers agree on `body`, and return the reference outcome."""
    expected = outcome(lambda: parse_result_page_with_tree(body, URL))
    assert outcome(lambda: parse_result_page(body, URL)) == expected
    assert outcome(lambda: parse_in_chunks(body, chunk_size)) == expected
    return expected


def is_read_by_fast_path(body: bytes) -> bool:
    text = decode_page(body)
    check_page(text, URL)
    return parse_result_page_fast(text, URL) is not None


# ---------------------------------------------------------------------------------------------
# Generated pages
# ---------------------------------------------------------------------------------------------


@functools.cache
def replica_roll() -> ReplicaRoll:
    return generate_roll(rows=2000, seed=2022)


def render(properties: list[Property], show_warning: bool | None = None) -> bytes:
    return render_result_page(properties, "Roll=1", show_warning).encode("utf-8")


def marked_properties(count: int, marks: dict[int, str]) -> list[Property]:
    """Return `count` full-title properties; the owners at `marks` become placeholder text."""
    properties = list(replica_roll().full[:count])
    for index, mark in marks.items():
        properties[index] = dataclasses.replace(properties[index], first_owner=mark)
    return properties


def page_with_owner_html(snippets: dict[int, str], count: int = 40) -> bytes:
    """Render `count` rows with the raw HTML `snippets` as owner cells of the given rows."""
    marks = {index: f"OWNER-PLACEHOLDER-{index}" for index in snippets}
    page = render(marked_properties(count, marks)).decode("utf-8")
    for index, snippet in snippets.items():
        page = page.replace(marks[index], snippet)
    return page.encode("utf-8")


def edit_row(body: bytes, index: int, edit: Callable[[str], str]) -> bytes:
    """Apply `edit` to the HTML of data row `index` (from 0) of a rendered page."""
    page = body.decode("utf-8")
    starts = [match.start() for match in re.finditer(r'<tr class="color[01]">', page)]
    start = starts[index]
    end = page.index("</tr>", start) + len("</tr>")
    return (page[:start] + edit(page[start:end]) + page[end:]).encode("utf-8")


def edit_page(body: bytes, old: str, new: str, count: int = 1) -> bytes:
    page = body.decode("utf-8")
    assert old in page
    return page.replace(old, new, count).encode("utf-8")


def cut_after_last_row(body: bytes) -> bytes:
    return body[: body.rindex(b"</tr>") + len(b"</tr>")]


def base_page(count: int = 40) -> bytes:
    return render(list(replica_roll().full[:count]))


SPECIAL_CELL_TEXTS = [
    "A & B",
    "<b>not a tag</b>",
    "x > y",
    '"QUOTED" NAME',
    "O'NEILL",
    "CAFÉ ÉTÉ",
    "ĳ 漢字 😀",
    "NBSP\xa0INSIDE",
    "\xa0LEADING NBSP",
    "LINE\u2028SEPARATOR",
    "  PADDED  WITH  SPACES  ",
    "TAB\tINSIDE",
    "&amp; WRITTEN OUT",
    "&#233; WRITTEN OUT",
    "",
    "FORM\x0cFEED",
    "LF\nINSIDE",
    "CR\rINSIDE",
    "CRLF\r\nINSIDE",
    "NUL\x00INSIDE",
    "CONTROL\x01\x7f\x85CHARACTERS",
]


def special_text_page() -> bytes:
    """Render rows whose owner, address, legal description and use code hold odd text."""
    properties = list(replica_roll().full[: len(SPECIAL_CELL_TEXTS) + 6])
    for index, text in enumerate(SPECIAL_CELL_TEXTS):
        properties[index] = dataclasses.replace(
            properties[index],
            first_owner=text,
            address=text[::-1],
            legal_description=f"ERF {index} {text}",
            use_code=text.upper(),
        )
    # Rows without a rate number, which the site prints with a second "Details" link.
    for index in (3, len(properties) - 1):
        properties[index] = dataclasses.replace(properties[index], rate_number="")
    return render(properties)


GENERATED_PAGES: dict[str, Callable[[], bytes]] = {
    "no match": lambda: render([]),
    "one row": lambda: base_page(1),
    "two rows": lambda: base_page(2),
    "40 rows": base_page,
    "40 sectional rows": lambda: render(list(replica_roll().sectional[:40])),
    "warning with 3 rows": lambda: render(list(replica_roll().full[:3]), show_warning=True),
    "special cell text": special_text_page,
    "rows without rate number": lambda: render(
        [dataclasses.replace(prop, rate_number="") for prop in replica_roll().full[:5]]
    ),
    "header row without its class": lambda: edit_page(
        base_page(), ' class="SearchResultRowHeader"', ""
    ),
    "invalid UTF-8 in a cell": lambda: base_page().replace(
        xslt_text(replica_roll().full[7].first_owner).encode("utf-8"), b"BAD \xff \xe2\x82 END"
    ),
}


# Markup that the strict row expression does not accept, so the tree reads those rows.
NON_STRICT_PAGES: dict[str, Callable[[], bytes]] = {
    "numeric reference": lambda: page_with_owner_html({5: "&#233;COLE", 30: "&#x41;"}),
    "nbsp reference": lambda: page_with_owner_html({6: "&nbsp;PADDED&nbsp;"}),
    "reference without semicolon": lambda: page_with_owner_html({7: "A &amp B &lt C"}),
    "line break tag": lambda: page_with_owner_html({8: "LINE<br>BREAK"}),
    "bold tag": lambda: page_with_owner_html({9: "<b>BOLD</b> OWNER"}),
    "comment in a cell": lambda: page_with_owner_html({10: "A<!-- note -->B"}),
    "consecutive odd rows": lambda: page_with_owner_html(
        {index: f"&#{65 + index};" for index in range(12, 25)}
    ),
    "cell with class": lambda: edit_row(
        base_page(), 11, lambda row: row.replace('<td align="right"', '<td class="x" align="right"')
    ),
    "upper-case end tags": lambda: edit_row(
        base_page(), 12, lambda row: row.replace("</td>", "</TD>")
    ),
    "unquoted attributes": lambda: edit_row(
        base_page(),
        13,
        lambda row: row.replace('<td align="left" width="10%">', "<td align=left width=10%>"),
    ),
    "single-quoted attribute": lambda: edit_row(
        base_page(), 14, lambda row: row.replace('align="right"', "align='right'")
    ),
    "upper-case row tag": lambda: edit_row(
        base_page(), 15, lambda row: row.replace("<tr ", "<TR ").replace("</tr>", "</TR>")
    ),
    "row with an id": lambda: edit_row(
        base_page(), 16, lambda row: row.replace('">', '" id="row16">', 1)
    ),
    "row with two classes": lambda: edit_row(
        base_page(), 17, lambda row: row.replace('class="color', 'class="odd color', 1)
    ),
    "every row unquoted": lambda: edit_page(
        base_page(), 'align="left" width="10%"', "align=left width=10%", count=-1
    ),
    "rows without whitespace between": lambda: base_page().replace(
        b"</tr>\r\n          <tr", b"</tr><tr"
    ),
    "warning row between rows": lambda: edit_row(
        base_page(),
        20,
        lambda row: (
            row + '<tr class="HeaderMessage"><td colspan="9">Due to resource constraints</td></tr>'
        ),
    ),
    "second caption between rows": lambda: edit_row(
        base_page(),
        21,
        lambda row: (
            row + '<tr><td class="searchResultCaption">'
            "Search Results (Total found records: 9)</td></tr>"
        ),
    ),
    "header row between rows": lambda: edit_row(
        base_page(),
        22,
        lambda row: row + '<tr class="SearchResultRowHeader"><th>Owner</th></tr>',
    ),
    "single-quoted first row": lambda: edit_row(
        base_page(), 0, lambda row: row.replace('class="color1"', "class='color1'")
    ),
    "nested table in a cell": lambda: edit_row(
        base_page(),
        23,
        lambda row: row.replace(
            '<td align="left" width="10%">',
            '<td align="left" width="10%"><table><tr><td>X</td></tr></table>',
            1,
        ),
    ),
}


# Pages that every reader must reject with the same error.
BROKEN_PAGES: dict[str, Callable[[], bytes]] = {
    "row with 7 cells": lambda: edit_row(
        base_page(), 25, lambda row: row[: row.rindex("<td")] + "</tr>"
    ),
    "row with 9 cells": lambda: edit_row(
        base_page(), 26, lambda row: row.replace("</tr>", "<td>extra</td></tr>")
    ),
    "row without numeric id": lambda: edit_row(
        base_page(), 27, lambda row: re.sub(r"\?id=[0-9]+&amp;", "?id=&amp;", row)
    ),
    "two bad rows": lambda: edit_row(
        edit_row(base_page(), 33, lambda row: row.replace("</tr>", "<td>extra</td></tr>")),
        28,
        lambda row: re.sub(r"\?id=[0-9]+&amp;", "?id=x&amp;", row),
    ),
    "caption count too high": lambda: edit_page(
        base_page(), "Total found records: 40", "Total found records: 41"
    ),
    "unreadable caption": lambda: edit_page(
        base_page(), "Total found records: 40", "Total found: forty"
    ),
    "missing caption": lambda: edit_page(base_page(), ' class="searchResultCaption"', ""),
    "changed header": lambda: edit_page(base_page(), ">First Owner<", ">Owner<"),
    "missing table class": lambda: edit_page(base_page(), "searchResultTable", "resultTable"),
    "truncated in a row": lambda: base_page()[: len(base_page()) * 6 // 10],
    "truncated after the rows": lambda: base_page()[: base_page().index(b"</table>")],
    "comment around rows": lambda: edit_row(
        edit_row(base_page(), 12, lambda row: "<!--" + row), 18, lambda row: row + "-->"
    ),
    "nested data row in a cell": lambda: edit_row(
        base_page(),
        23,
        lambda row: row.replace(
            '<td align="left" width="10%">',
            '<td align="left" width="10%"><table><tr class="color1"><td>X</td></tr></table>',
            1,
        ),
    ),
    "nested table left open in a cell": lambda: edit_row(
        base_page(),
        24,
        lambda row: row.replace(
            '<td align="left" width="10%">', '<td align="left" width="10%"><table><tr><td>X', 1
        ),
    ),
    "truncated after the rows, html end tag before them": lambda: cut_after_last_row(
        edit_row(base_page(), 0, lambda row: "</html>" + row)
    ),
    "table closed between rows": lambda: edit_row(base_page(), 15, lambda row: row + "</table>"),
    "block page text in a cell": lambda: page_with_owner_html({20: "Web Page Blocked!"}),
    "error page text in a cell": lambda: page_with_owner_html(
        {20: "Server Error in '/' Application."}
    ),
    "block page text after the rows": lambda: edit_page(
        base_page(), "</table>", "</table><p>Web Page Blocked! Attack ID: 7</p>"
    ),
}


def saved_pages() -> Iterator[str]:
    return iter(sorted(path.name for path in PAGES.glob("*.html")))


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
@pytest.mark.parametrize("name", list(saved_pages()))
@pytest.mark.usefixtures("step_chars")
def test_saved_page_same_outcome(name: str, chunk_size: int) -> None:
    assert_same_outcomes((PAGES / name).read_bytes(), chunk_size)


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
@pytest.mark.parametrize("name", list(GENERATED_PAGES))
@pytest.mark.usefixtures("step_chars")
def test_generated_page_same_outcome(name: str, chunk_size: int) -> None:
    expected = assert_same_outcomes(GENERATED_PAGES[name](), chunk_size)
    assert expected[0] == "page"


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
@pytest.mark.parametrize("name", list(NON_STRICT_PAGES))
@pytest.mark.usefixtures("step_chars")
def test_non_strict_rows_same_outcome(name: str, chunk_size: int) -> None:
    expected = assert_same_outcomes(NON_STRICT_PAGES[name](), chunk_size)
    assert expected[0] == "page"


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
@pytest.mark.parametrize("name", list(BROKEN_PAGES))
@pytest.mark.usefixtures("step_chars")
def test_broken_page_same_error(name: str, chunk_size: int) -> None:
    expected = assert_same_outcomes(BROKEN_PAGES[name](), chunk_size)
    assert expected[0] != "page"


@pytest.mark.parametrize(
    "name", ["result-real-rows.html", "result-sectional.html", "result-warning.html"]
)
def test_saved_result_page_uses_fast_path(name: str) -> None:
    assert is_read_by_fast_path((PAGES / name).read_bytes())


@pytest.mark.parametrize(
    "name", ["40 rows", "40 sectional rows", "special cell text", "rows without rate number"]
)
def test_generated_page_uses_fast_path(name: str) -> None:
    assert is_read_by_fast_path(GENERATED_PAGES[name]())


def test_special_text_rows_parsed() -> None:
    result = parse_result_page(special_text_page())
    owners = [row.first_owner for row in result.rows[: len(SPECIAL_CELL_TEXTS)]]
    assert owners[:7] == SPECIAL_CELL_TEXTS[:7]
    assert owners[10] == "PADDED  WITH  SPACES"
    assert owners[12] == "&amp; WRITTEN OUT"


def test_fast_path_declines_count_mismatch() -> None:
    body = BROKEN_PAGES["caption count too high"]()
    assert not is_read_by_fast_path(body)


# ---------------------------------------------------------------------------------------------
# Large pages
# ---------------------------------------------------------------------------------------------


@functools.cache
def large_page() -> bytes:
    """Render 1,000 rows, which the site prints with its warning row."""
    return render(list(replica_roll().full[:1000]))


LARGE_PAGE_EDITS: dict[str, Callable[[bytes], bytes]] = {
    "unchanged": lambda body: body,
    "odd rows deep in the page": lambda body: edit_row(
        edit_row(body, 700, lambda row: row.replace("</td>", "</TD>")),
        420,
        lambda row: row.replace('align="right"', "align=right"),
    ),
    "row with 7 cells deep in the page": lambda body: edit_row(
        body, 900, lambda row: row[: row.rindex("<td")] + "</tr>"
    ),
    "row without numeric id deep in the page": lambda body: edit_row(
        body, 650, lambda row: re.sub(r"\?id=[0-9]+&amp;", "?id=&amp;", row)
    ),
    "caption count too low": lambda body: body.replace(
        b"Total found records: 1000", b"Total found records: 999"
    ),
    "truncated": lambda body: body[: len(body) * 3 // 4],
    "block page text deep in the page": lambda body: edit_row(
        body, 800, lambda row: row.replace("</tr>", "<td>Web Page Blocked!</td></tr>")
    ),
}


@pytest.mark.parametrize("chunk_size", [4096, 65536])
@pytest.mark.parametrize("name", list(LARGE_PAGE_EDITS))
def test_large_page_same_outcome(name: str, chunk_size: int) -> None:
    assert_same_outcomes(LARGE_PAGE_EDITS[name](large_page()), chunk_size)


def test_large_page_warning_and_rows() -> None:
    result = parse_in_chunks(large_page(), 65536)
    assert (result.total, result.has_warning, len(result.rows)) == (1000, True, 1000)


def test_large_page_uses_fast_path() -> None:
    assert is_read_by_fast_path(large_page())


# ---------------------------------------------------------------------------------------------
# Memory of the incremental parser
# ---------------------------------------------------------------------------------------------

HUGE_PAGE_ROWS = 30_000


def huge_page(odd_row_every: int | None) -> bytes:
    """Render 30,000 rows; every `odd_row_every`-th row has an owner the tree must read."""
    properties = list(replica_roll().full[:1000]) * (HUGE_PAGE_ROWS // 1000)
    if odd_row_every is not None:
        for index in range(odd_row_every // 2, HUGE_PAGE_ROWS, odd_row_every):
            properties[index] = dataclasses.replace(properties[index], first_owner="CR\rOWNER")
    return render(properties)


def traced_peak(parse: Callable[[], ResultPage]) -> tuple[ResultPage, int, int]:
    """Return the page, the peak traced bytes during `parse`, and the bytes the page holds."""
    tracemalloc.start()
    try:
        result = parse()
        result_bytes, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak, result_bytes


# The parsed rows of the site's table take about 0.75 bytes of Python objects per byte of
# HTML, and keeping the decoded text even once would add 1.0 byte per byte. The bound of 1.25
# times the page size leaves room for the rows and a few steps of text. The second bound is
# the memory beyond the returned rows, which must not grow with the page (measured: about
# 2 MB for a page of 32 MB). Both include lexbor's trees, because selectolax 1.0.2 allocates
# them through Python's allocator: a tree of the whole 32 MB page traces as 357 MB.
PEAK_PER_PAGE_BYTE = 1.25
PEAK_ABOVE_ROWS = 8 * 1024 * 1024


@pytest.mark.parametrize(
    "odd_row_every", [None, 50], ids=["site form", "every 50th row read by a tree"]
)
def test_huge_page_peak_memory(odd_row_every: int | None) -> None:
    body = huge_page(odd_row_every)

    result, peak, result_bytes = traced_peak(lambda: parse_in_chunks(body, 65536))

    assert len(result.rows) == HUGE_PAGE_ROWS
    assert peak < PEAK_PER_PAGE_BYTE * len(body)
    assert peak - result_bytes < PEAK_ABOVE_ROWS
    assert result == parse_result_page(body, URL)


# ---------------------------------------------------------------------------------------------
# Use of the incremental parser
# ---------------------------------------------------------------------------------------------


def test_feed_after_close_raises() -> None:
    parser = ResultPageParser()
    parser.feed(base_page(2))
    parser.close()
    with pytest.raises(ValueError, match="after close"):
        parser.feed(b"<html>")


def test_close_twice_raises() -> None:
    parser = ResultPageParser()
    parser.feed(base_page(2))
    parser.close()
    with pytest.raises(ValueError, match="twice"):
        parser.close()


def test_empty_body_is_truncated() -> None:
    expected = outcome(lambda: parse_result_page_with_tree(b"", URL))
    assert outcome(lambda: ResultPageParser(URL).close()) == expected
