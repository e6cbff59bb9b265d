"""Parse the result table of `SearchResult.aspx`.

The table is the site's XSLT output pasted into the page, with these quirks:

* the data rows sit inside a stray `<div>` inside the `<table>`, so rows are found as
  descendants of the table and never as direct children;
* data rows have class `color1` or `color0` (alternating), while the caption, warning and
  "No Match" rows have one cell spanning nine columns;
* every cell is wrapped in indentation whitespace, but inner runs of spaces are data
  (addresses padded to a fixed width, such as `YACHT MOLE                      , ESPLANADE`).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from durban_valuations.site.errors import LayoutChangedError
from durban_valuations.site.models import ResultPage, ResultRow
from durban_valuations.site.page_checks import check_page, decode_page

EXPECTED_HEADERS = (
    "Rate Number",
    "Legal Description",
    "Address",
    "First Owner",
    "Use Code",
    "Rating Category",
    "Market Value",
    "Registered Extent",
)
DATA_ROW_CLASSES = frozenset({"color0", "color1"})


def _lexbor_tag_id(tag: str) -> int:
    node = LexborHTMLParser(f"<table><tr><{tag}></{tag}></tr></table>").css_first(tag)
    if node is None:
        raise RuntimeError(f"lexbor did not parse a <{tag}> element")
    return int(node.tag_id)


# Comparing lexbor's numeric tag id is faster than comparing the tag name.
_TD_TAG_ID = _lexbor_tag_id("td")

_CAPTION = re.compile(r"Search Results\s*\(Total found records:\s*([\d,]+)\s*\)")
# The details link as the site prints it, with plain ASCII values that need no unquoting.
# Other links take the general query-string parse, which returns the same parts.
_PLAIN_DETAILS_HREF = re.compile(
    r"[-./\w]*\?id=([0-9]+)&PType=([0-9A-Za-z]*)&FType=([0-9A-Za-z]*)", re.ASCII
)


def cell_text(node: LexborNode) -> str:
    """Return the node's text with outer whitespace stripped and inner spaces kept."""
    # text() is deep by default, and a call without keyword arguments is measurably faster.
    return node.text().strip()


def is_data_row(row: LexborNode) -> bool:
    """Return True when the row has the alternating class of a data row."""
    classes = (row.attributes.get("class") or "").split()
    return not DATA_ROW_CLASSES.isdisjoint(classes)


def read_total(table: LexborNode, url: str | None) -> int:
    """Return N from the caption "Search Results (Total found records: N)"."""
    caption = table.css_first("td.searchResultCaption")
    if caption is None:
        raise LayoutChangedError("the result table has no caption cell", url=url)

    text = " ".join(cell_text(caption).split())
    match = _CAPTION.search(text)
    if match is None:
        raise LayoutChangedError(f"the result caption {text!r} has no record count", url=url)
    return int(match.group(1).replace(",", ""))


def check_header(table: LexborNode, url: str | None) -> None:
    """Raise LayoutChangedError unless the header row has exactly the 8 expected columns."""
    header = table.css_first("tr.SearchResultRowHeader")
    if header is None:
        header = next((row for row in table.css("tr") if row.css_first("th")), None)
    if header is None:
        raise LayoutChangedError("the result table has data but no header row", url=url)

    # The site prints "Rate Number " with a trailing space, which the strip removes.
    headers = tuple(cell_text(cell) for cell in header.css("th"))
    if headers != EXPECTED_HEADERS:
        raise LayoutChangedError(
            f"the result table header is {list(headers)}, expected {list(EXPECTED_HEADERS)}",
            url=url,
        )


def parse_details_href(href: str) -> tuple[int, str, str] | None:
    """Return PIN, PType and FType from a details link, or None when the PIN is not a number.

    The link reads `../FramePages/SearchDeatils.aspx?id={PIN}&PType={PType}&FType={FType}`.
    A missing PType or FType is returned as "".
    """
    plain = _PLAIN_DETAILS_HREF.fullmatch(href)
    if plain is not None:
        return int(plain.group(1)), plain.group(2), plain.group(3)

    parameters = {
        name.lower(): value
        for name, value in parse_qsl(urlsplit(href).query, keep_blank_values=True)
    }
    pin = parameters.get("id", "").strip()
    if not pin.isdigit():
        return None
    return int(pin), parameters.get("ptype", ""), parameters.get("ftype", "")


def row_cells(row: LexborNode) -> list[LexborNode]:
    """Return the row's `td` children; nested tables are not looked into."""
    return [child for child in row.iter() if child.tag_id == _TD_TAG_ID]


def find_details_link(cell: LexborNode) -> LexborNode | None:
    """Return the first link of the cell, looking at its children before its descendants."""
    for child in cell.iter():
        if child.tag == "a":
            return child
    return cell.css_first("a")


def parse_result_row(row: LexborNode, url: str | None) -> ResultRow:
    """Parse one data row of 8 cells.

    When a property has no rate number, the site prints an empty link followed by a second
    link reading "Details" in the first cell, so the rate number is the first link's text.
    """
    cells = row_cells(row)
    if len(cells) != len(EXPECTED_HEADERS):
        raise LayoutChangedError(
            f"a result row has {len(cells)} cells, expected {len(EXPECTED_HEADERS)}: "
            f"{cell_text(row)[:200]!r}",
            url=url,
        )

    link = find_details_link(cells[0])
    href = (link.attrs.get("href") or "") if link is not None else ""
    link_parts = parse_details_href(href)
    if link is None or link_parts is None:
        raise LayoutChangedError(
            f"a result row has no details link with a numeric id: href={href!r}", url=url
        )
    pin, ptype, ftype = link_parts

    return ResultRow(
        pin=pin,
        ptype=ptype,
        ftype=ftype,
        details_href=href,
        rate_number=cell_text(link),
        legal_description=cell_text(cells[1]),
        address=cell_text(cells[2]),
        first_owner=cell_text(cells[3]),
        use_code=cell_text(cells[4]),
        rating_category=cell_text(cells[5]),
        market_value=cell_text(cells[6]),
        registered_extent=cell_text(cells[7]),
    )


def parse_result_page(html: str | bytes, url: str | None = None) -> ResultPage:
    """Parse the caption count, the warning row and the data rows of a result page.

    The "No Match" page has a caption with count 0, no header and no data rows, and parses
    to `ResultPage(total=0, has_warning=False, rows=[])`.

    Raises:
        LayoutChangedError: the table, caption or header row is missing or different, the
            caption count differs from the number of data rows, a data row lacks 8 cells or
            a numeric PIN, or the page is truncated.
        BlockedError, ServerError: the page is the firewall page or an ASP.NET error page.
    """
    text = decode_page(html)
    check_page(text, url)

    tree = LexborHTMLParser(text)
    table = tree.css_first("table.searchResultTable")
    if table is None:
        raise LayoutChangedError("the page has no table.searchResultTable", url=url)

    total = read_total(table, url)
    data_rows = [row for row in table.css("tr") if is_data_row(row)]
    if total != len(data_rows):
        raise LayoutChangedError(
            f"the caption counts {total} records but the table has {len(data_rows)} data rows",
            url=url,
        )
    if data_rows:
        check_header(table, url)

    # The site adds the warning row when a search returns 1000 rows or more.
    has_warning = table.css_first("tr.HeaderMessage") is not None
    rows = [parse_result_row(row, url) for row in data_rows]
    return ResultPage(total=total, has_warning=has_warning, rows=rows)
