"""Parse the result table of `SearchResult.aspx`.

The table is the site's XSLT output pasted into the page, with these quirks:

* the data rows sit inside a stray `<div>` inside the `<table>`, so rows are found as
  descendants of the table and never as direct children;
* data rows have class `color1` or `color0` (alternating), while the caption, warning and
  "No Match" rows have one cell spanning nine columns;
* every cell is wrapped in indentation whitespace, but inner runs of spaces are data
  (addresses padded to a fixed width, such as `YACHT MOLE                      , ESPLANADE`).

Two readers share the row rules. The tree reader builds one lexbor tree of the page and
checks every layout rule on it. The fast path reads the data rows that have exactly the
site's XSLT form with one regular expression, and builds a lexbor tree only of the text
around them, with a sentinel row in their place (see `_SENTINEL_ROW_HTML`). It never raises
a layout error itself: on any doubt `parse_result_page` falls back to the tree reader, so
the tree still finds every layout problem. `ResultPageParser` uses the same two readers on
a body that arrives in chunks, and keeps only the parsed rows and a bounded part of the text.
"""

from __future__ import annotations

import codecs
import enum
import html
import re
import sys
from urllib.parse import parse_qsl, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from durban_valuations.site.errors import LayoutChangedError
from durban_valuations.site.models import ResultPage, ResultRow
from durban_valuations.site.page_checks import (
    BLOCK_PAGE_MARKER,
    SERVER_ERROR_MARKER,
    check_page,
    decode_page,
    is_truncated,
    truncation_message,
)

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


# ---------------------------------------------------------------------------------------------
# The tree reader
# ---------------------------------------------------------------------------------------------


def cell_text(node: LexborNode) -> str:
    """Return the node's text with outer whitespace stripped and inner spaces kept."""
    # text() is deep by default, and a call without keyword arguments is measurably faster.
    return node.text().strip()


def is_data_row(row: LexborNode) -> bool:
    """Return True when the row has the alternating class of a data row."""
    classes = (row.attributes.get("class") or "").split()
    return not DATA_ROW_CLASSES.isdisjoint(classes)


def find_result_table(tree: LexborHTMLParser) -> LexborNode | None:
    """Return the first `table.searchResultTable` of the tree, or None."""
    return tree.css_first("table.searchResultTable")


def find_data_rows(table: LexborNode) -> list[LexborNode]:
    """Return the data rows among the table's descendant rows, in document order."""
    return [row for row in table.css("tr") if is_data_row(row)]


def has_warning_row(table: LexborNode) -> bool:
    """Return True when the table has the warning row.

    The site adds the warning row when a search returns 1000 rows or more.
    """
    return table.css_first("tr.HeaderMessage") is not None


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


def check_row_count(total: int, data_rows: int, url: str | None) -> None:
    """Raise LayoutChangedError unless the caption's count equals the number of data rows."""
    if total != data_rows:
        raise LayoutChangedError(
            f"the caption counts {total} records but the table has {data_rows} data rows",
            url=url,
        )


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


def parse_checked_page_with_tree(text: str, url: str | None) -> ResultPage:
    """Parse a page that passed `check_page` with one lexbor tree of the whole text."""
    tree = LexborHTMLParser(text)
    table = find_result_table(tree)
    if table is None:
        raise LayoutChangedError("the page has no table.searchResultTable", url=url)

    total = read_total(table, url)
    data_rows = find_data_rows(table)
    check_row_count(total, len(data_rows), url)
    if data_rows:
        check_header(table, url)

    has_warning = has_warning_row(table)
    rows = [parse_result_row(row, url) for row in data_rows]
    return ResultPage(total=total, has_warning=has_warning, rows=rows)


def parse_result_page_with_tree(html: str | bytes, url: str | None = None) -> ResultPage:
    """Parse a result page with the tree reader only; `parse_result_page` returns the same.

    Raises the same errors as `parse_result_page`.
    """
    text = decode_page(html)
    check_page(text, url)
    return parse_checked_page_with_tree(text, url)


# ---------------------------------------------------------------------------------------------
# Rows in the site's exact form, read with one regular expression
# ---------------------------------------------------------------------------------------------

# Each data row the site prints starts with this text.
_DATA_ROW_START = '<tr class="color'

# The strict row grammar admits only markup whose tree is known: the exact row start tag,
# eight `td` cells with double-quoted attributes and no class (so no cell can be taken for
# the caption), links with double-quoted attributes, and text. Text excludes NUL (which
# lexbor drops) and CR (which lexbor turns into LF). It admits only the five character
# references that html.unescape and lexbor decode alike. Anything else is left to the tree.
_SPACE = r"[ \t\n\r\f]"
_SPACES = rf"{_SPACE}*"
_ATTRIBUTE = rf'{_SPACE}+[A-Za-z][-:\w]*="[^"<>]*"'
_CELL_ATTRIBUTE = rf'{_SPACE}+(?![Cc][Ll][Aa][Ss][Ss]=)[A-Za-z][-:\w]*="[^"<>]*"'
_NOT_HREF_ATTRIBUTE = rf'{_SPACE}+(?![Hh][Rr][Ee][Ff]=)[A-Za-z][-:\w]*="[^"<>]*"'
_TEXT_RUN = r"[^<>&\r\x00]*"
_TEXT = rf"{_TEXT_RUN}(?:&(?:amp|lt|gt|quot|apos|#39);{_TEXT_RUN})*"
_DETAILS_HREF = r"[-./\w]*\?id=([0-9]+)&amp;PType=([0-9A-Za-z]*)&amp;FType=([0-9A-Za-z]*)"

# The attributes exactly as the site prints them are tried before the general attribute
# loop, because literal text matches about twice as fast. Each is one case of the general
# form, so the rows the expression accepts are the same.
_SITE_LINK_ATTRIBUTES = re.escape(
    ' class="searchResultTblLink" alt="Click to View the property profile"'
    ' Title="Click to View the property profile"'
)
_SITE_ONCLICK = re.escape(' onclick="javascript:LoadingLayers();"')
_SITE_CELL_ATTRIBUTES = r' align="(?:left|right)"(?: width="10%"| style="padding-right:2px")?'

_CELL_START = rf"<td(?:{_SITE_CELL_ATTRIBUTES}|(?:{_CELL_ATTRIBUTE})*)>"
_DETAILS_LINK = (
    rf"<a(?:{_SITE_LINK_ATTRIBUTES}|(?:{_NOT_HREF_ATTRIBUTE})*){_SPACE}+"
    rf'href="({_DETAILS_HREF})"(?:{_SITE_ONCLICK}|(?:{_NOT_HREF_ATTRIBUTE})*)>({_TEXT})</a>'
)
_LINK_START = rf'<a(?:{_SITE_LINK_ATTRIBUTES} href="[^"<>]*"{_SITE_ONCLICK}|(?:{_ATTRIBUTE})*)>'
_PLAIN_CELL = rf"{_SPACES}{_CELL_START}({_TEXT})</td>"

# Groups: href, PIN, PType, FType, then the text of the 8 cells (the first cell's is the
# text of its first link). Leading whitespace belongs to the row, so rows that follow each
# other match at the end of the previous match.
_STRICT_ROW = re.compile(
    rf'{_SPACES}<tr class="color[01]">'
    rf"{_SPACES}{_CELL_START}{_SPACES}{_DETAILS_LINK}"
    rf"(?:{_SPACES}{_LINK_START}{_TEXT}</a>)*{_SPACES}</td>"
    rf"{_SPACES}{_CELL_START}{_SPACES}{_LINK_START}({_TEXT})</a>{_SPACES}</td>"
    + _PLAIN_CELL * 6
    + rf"{_SPACES}</tr>",
    re.ASCII,
)


def read_strict_rows(text: str, position: int, rows: list[ResultRow]) -> int:
    """Append the strict rows that follow each other from `position`, and return their end.

    The end is `position` itself when no strict row starts there.
    """
    match_row = _STRICT_ROW.match
    append = rows.append
    unescape = html.unescape
    while (match := match_row(text, position)) is not None:
        href, pin, ptype, ftype, *cells = match.groups()
        values = [cell.strip() if "&" not in cell else unescape(cell).strip() for cell in cells]
        append(ResultRow(int(pin), ptype, ftype, href.replace("&amp;", "&"), *values))
        position = match.end()
    return position


# ---------------------------------------------------------------------------------------------
# Trees of the text around the strict rows
# ---------------------------------------------------------------------------------------------

# A data row of known content that takes the place of the rows read without a tree. Every data
# row ends with the parser in the same state: tokenizer in its data state, a section of the
# result table as the current node. When the sentinel parses back as a data row directly
# inside the result table, a row could start where the text before it ends. So rows cut
# out at that point do not change how the tree reads the text after them.
_SENTINEL_ROW_HTML = (
    '<tr class="color1"><td><a href="../FramePages/SearchDeatils.aspx?id=0&amp;PType=s&amp;'
    'FType=s">sentinel 1</a></td><td><a>sentinel 2</a></td><td>sentinel 3</td>'
    "<td>sentinel 4</td><td>sentinel 5</td><td>sentinel 6</td><td>sentinel 7</td>"
    "<td>sentinel 8</td></tr>"
)
_SENTINEL_ROW = ResultRow(
    0,
    "s",
    "s",
    "../FramePages/SearchDeatils.aspx?id=0&PType=s&FType=s",
    *[f"sentinel {number}" for number in range(1, 9)],
)


def is_sentinel_row(row: LexborNode, table: LexborNode) -> bool:
    """Return True when `row` is a sentinel row directly inside a section of `table`."""
    section = row.parent
    if section is None or section.parent != table:
        return False
    try:
        return parse_result_row(row, None) == _SENTINEL_ROW
    except LayoutChangedError:
        return False


class _SentinelTree:
    """A lexbor tree of a page's head, a sentinel row, some text and an optional sentinel.

    `rows` are the data rows of the result table between the sentinels. `table` and `rows`
    are None when a sentinel is not a data row directly inside the first
    `table.searchResultTable`: the text does not join there, so no rows may be cut out.
    """

    def __init__(self, head: str, middle: str, closing_sentinel: bool) -> None:
        parts = [head, _SENTINEL_ROW_HTML, middle]
        if closing_sentinel:
            parts.append(_SENTINEL_ROW_HTML)
        self.tree = LexborHTMLParser("".join(parts))
        self.table: LexborNode | None = None
        self.rows: list[LexborNode] | None = None

        table = find_result_table(self.tree)
        if table is None:
            return
        data_rows = find_data_rows(table)
        sentinels = 2 if closing_sentinel else 1
        if len(data_rows) < sentinels or not is_sentinel_row(data_rows[0], table):
            return
        if closing_sentinel and not is_sentinel_row(data_rows[-1], table):
            return
        self.table = table
        self.rows = data_rows[1:-1] if closing_sentinel else data_rows[1:]


def _finish_page(
    head: str,
    rest: str,
    read_rows: list[ResultRow],
    row_count: int,
    row_error: LayoutChangedError | None,
    has_warning: bool,
    url: str | None,
) -> ResultPage | None:
    """Check the page around the rows already read, parse the rows in `rest`, and build it.

    `head` is the page up to its first data row and `rest` the text after the rows read so
    far, which are appended to `read_rows`. `row_count` is the number of data rows before
    `rest`, with the rows left unparsed after `row_error`, the first row that failed to
    parse. Returns None when `head` and `rest` do not join around a sentinel row.

    Raises:
        LayoutChangedError: as the tree reader would raise it for the whole page.
    """
    around = _SentinelTree(head, rest, closing_sentinel=False)
    if around.table is None or around.rows is None:
        return None
    table, rest_rows = around.table, around.rows

    total = read_total(table, url)
    check_row_count(total, row_count + len(rest_rows), url)
    if row_count + len(rest_rows):
        check_header(table, url)
    if row_error is not None:
        raise row_error

    read_rows.extend(parse_result_row(row, url) for row in rest_rows)
    return ResultPage(
        total=total, has_warning=has_warning or has_warning_row(table), rows=read_rows
    )


def parse_result_page_fast(text: str, url: str | None = None) -> ResultPage | None:
    """Parse a page that passed `check_page` with the fast path, or return None.

    Returns None when the page has no strict data row, when the text around the strict rows
    does not join around a sentinel row, or when the tree of that text finds a layout
    error. The tree reader then parses the page and raises the error.
    """
    start = text.find(_DATA_ROW_START)
    if start < 0:
        return None
    rows: list[ResultRow] = []
    end = read_strict_rows(text, start, rows)
    if not rows:
        return None

    try:
        return _finish_page(text[:start], text[end:], rows, len(rows), None, False, url)
    except LayoutChangedError:
        return None


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
    page = parse_result_page_fast(text, url)
    if page is not None:
        return page
    return parse_checked_page_with_tree(text, url)


# ---------------------------------------------------------------------------------------------
# Incremental parsing of a body that arrives in chunks
# ---------------------------------------------------------------------------------------------

# Text read per step, about 240 rows of the site's table.
_STEP_CHARS = 256 * 1024
# Rows per tree when rows are not in the strict form.
_TREE_BATCH_ROWS = 300
# Characters kept from the end of the rows already read, for the truncation check.
_KEPT_ROWS_END = 128
# A cut between two rows, where the tree parse of a batch can end.
_ROW_BOUNDARY = re.compile(r"</tr>(?=[ \t\n\r\f]*<tr[ \t\n\r\f>])")


class _Stage(enum.Enum):
    HEAD = "before the first data row"
    ROWS = "reading rows"
    # The whole body is kept and parsed by parse_result_page at close().
    WHOLE = "keeping the whole page"
    # Rows read so far are kept, and the rest of the body is kept for close().
    REST = "keeping the rest of the page"


class ResultPageParser:
    """Parse a result page from chunks of its body, as `parse_result_page` parses the whole.

    Besides the parsed rows, the parser keeps the page head, which is the text before the
    first data row, for the checks of the caption, header and warning row. It also keeps
    about one step of text: 256 K characters, or one chunk when a chunk is larger. Rows in
    the site's exact form are
    read with the fast path's regular expression, and other rows with lexbor trees of up to
    300 rows each, placed after the head so that the tree reads them as the whole page
    would. `feed()` raises no page errors: `close()` returns the same page, or raises the
    same error type and message, as `parse_result_page` given the whole body.

    NOTE: memory grows with the page when the page leaves the site's layout. The whole body
    is kept unless a `<tr class="color` row start follows a head that has the caption and
    header row and ends where a data row can start. The rest of the body is kept when rows
    cannot be cut into batches (no lowercase `</tr>` before the next `<tr`, or a batch
    after which no data row can start). A firewall or
    ASP.NET error marker found after rows were dropped raises the same error type, with a
    message read from the kept text only.
    """

    def __init__(self, url: str | None = None) -> None:
        self._url = url
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._stage = _Stage.HEAD
        self._closed = False
        # Text not yet read, starting at a row boundary once rows are being read.
        self._pending: list[str] = []
        self._pending_chars = 0
        self._next_step_chars = _STEP_CHARS
        self._total_chars = 0
        self._head_searched_chars = 0
        self._head = ""
        self._rows_end = ""
        self._rows: list[ResultRow] = []
        self._row_count = 0
        self._row_error: LayoutChangedError | None = None
        self._has_warning = False

    def feed(self, chunk: bytes) -> None:
        """Add the next bytes of the body; a chunk may end inside a UTF-8 character.

        Raises:
            ValueError: close() was called before.
        """
        if self._closed:
            raise ValueError("feed() was called after close()")
        text = self._decoder.decode(chunk)
        if not text:
            return
        self._pending.append(text)
        self._pending_chars += len(text)
        self._total_chars += len(text)
        if self._pending_chars >= self._next_step_chars:
            self._step()

    def close(self) -> ResultPage:
        """Parse the rest of the body and return the page.

        Raises:
            LayoutChangedError, BlockedError, ServerError: as `parse_result_page` raises them.
        """
        if self._closed:
            raise ValueError("close() was called twice")
        self._closed = True
        text = self._decoder.decode(b"", final=True)
        if text:
            self._pending.append(text)
            self._total_chars += len(text)
        self._step()

        rest = "".join(self._pending)
        self._pending = []
        if self._stage in (_Stage.HEAD, _Stage.WHOLE):
            return parse_result_page(rest, self._url)
        return self._finish(rest)

    def _step(self) -> None:
        """Read what the pending text allows, and keep the rest pending."""
        if self._stage in (_Stage.WHOLE, _Stage.REST):
            self._next_step_chars = sys.maxsize
            return

        text = "".join(self._pending)
        if self._stage is _Stage.HEAD:
            text = self._leave_head(text)
        if self._stage is _Stage.ROWS:
            text = self._read_rows(text)

        self._pending = [text] if text else []
        self._pending_chars = len(text)
        if self._stage is _Stage.HEAD:
            # The next search waits until the head has doubled, so a page without rows
            # costs O(n) in joins and searches.
            self._next_step_chars = max(_STEP_CHARS, 2 * self._pending_chars)
        elif self._stage is _Stage.ROWS:
            self._next_step_chars = self._pending_chars + _STEP_CHARS
        else:
            self._next_step_chars = sys.maxsize

    def _leave_head(self, text: str) -> str:
        """Find the first data row; return the text from there, or all text when not found."""
        search_from = max(0, self._head_searched_chars - len(_DATA_ROW_START))
        start = text.find(_DATA_ROW_START, search_from)
        if start < 0:
            self._head_searched_chars = len(text)
            return text

        head = text[:start]
        if _has_error_marker(head) or not _head_allows_dropping_rows(head):
            self._stage = _Stage.WHOLE
            return text
        self._head = head
        self._stage = _Stage.ROWS
        return text[start:]

    def _read_rows(self, text: str) -> str:
        """Read the complete rows at the start of `text` and return the text after them."""
        # A marker is looked for before any of the text is dropped, so _finish() finds it.
        if _has_error_marker(text):
            self._stage = _Stage.REST
            return text

        position = 0
        while True:
            rows_before = len(self._rows)
            end = read_strict_rows(text, position, self._rows)
            if end > position:
                self._row_count += len(self._rows) - rows_before
                self._keep_rows_end(text, end)
                position = end
            batch_end = self._find_batch_end(text, position)
            if batch_end is None:
                return text[position:]
            if not self._read_tree_batch(text[position:batch_end]):
                self._stage = _Stage.REST
                return text[position:]
            self._keep_rows_end(text, batch_end)
            position = batch_end

    @staticmethod
    def _find_batch_end(text: str, position: int) -> int | None:
        """Return the end of the rows from `position` up to the next strict row, or None.

        The batch ends at a boundary between two rows, after at most _TREE_BATCH_ROWS rows.
        None means that no complete row follows yet.
        """
        end = None
        for count, boundary in enumerate(_ROW_BOUNDARY.finditer(text, position), 1):
            end = boundary.end()
            if count >= _TREE_BATCH_ROWS or _STRICT_ROW.match(text, end) is not None:
                break
        return end

    def _read_tree_batch(self, batch: str) -> bool:
        """Parse the rows of `batch` with a tree; return False when they cannot be dropped."""
        # The truncation check looks back for the last "<script", which must not be dropped.
        if "<script" in batch.lower():
            return False
        around = _SentinelTree(self._head, batch, closing_sentinel=True)
        if around.table is None or around.rows is None:
            return False

        self._has_warning = self._has_warning or has_warning_row(around.table)
        for row in around.rows:
            self._row_count += 1
            if self._row_error is not None:
                continue
            try:
                self._rows.append(parse_result_row(row, self._url))
            except LayoutChangedError as error:
                self._row_error = error
        return True

    def _keep_rows_end(self, text: str, end: int) -> None:
        rows_end = self._rows_end + text[max(0, end - _KEPT_ROWS_END) : end]
        self._rows_end = rows_end[-_KEPT_ROWS_END:]

    def _finish(self, rest: str) -> ResultPage:
        # The line break keeps a marker or "<script" from forming across the cut.
        retained_text = self._head + "\n" + self._rows_end + rest
        if _has_error_marker(retained_text):
            check_page(retained_text, self._url)
        if is_truncated(retained_text):
            raise LayoutChangedError(truncation_message(self._total_chars), url=self._url)

        page = _finish_page(
            self._head,
            rest,
            self._rows,
            self._row_count,
            self._row_error,
            self._has_warning,
            self._url,
        )
        # NOTE: no known page reaches this error, because the head was checked to end where a
        # data row can start. parse_result_page might still accept such a page.
        if page is None:
            raise LayoutChangedError(
                f"the text after data row {self._row_count} does not continue the result "
                "table when parsed apart from the rows before it; parse the whole body with "
                "parse_result_page",
                url=self._url,
            )
        return page


def _has_error_marker(text: str) -> bool:
    return BLOCK_PAGE_MARKER in text or SERVER_ERROR_MARKER in text


def _head_allows_dropping_rows(head: str) -> bool:
    """Return True when rows after `head` can be parsed apart from it.

    The head must end where a data row can start, and hold the result table's caption and
    header row, which the checks of the whole page would find first in document order.
    """
    around = _SentinelTree(head, "", closing_sentinel=False)
    if around.table is None or around.rows is None:
        return False
    return (
        around.table.css_first("td.searchResultCaption") is not None
        and around.table.css_first("tr.SearchResultRowHeader") is not None
    )
