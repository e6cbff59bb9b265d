from __future__ import annotations

from collections.abc import Callable

import pytest

from durban_valuations.site.errors import BlockedError, LayoutChangedError, ServerError
from durban_valuations.site.models import ResultPage, ResultRow
from durban_valuations.site.parse_results import parse_details_href, parse_result_page

PageReader = Callable[[str], str]


@pytest.fixture
def real_rows(page: PageReader) -> ResultPage:
    return parse_result_page(page("result-real-rows.html"))


def row_by_rate_number(result: ResultPage, rate_number: str) -> ResultRow:
    return next(row for row in result.rows if row.rate_number == rate_number)


def test_real_rows_total(real_rows: ResultPage) -> None:
    assert real_rows.total == 6


def test_real_rows_count(real_rows: ResultPage) -> None:
    assert len(real_rows.rows) == 6


def test_real_rows_no_warning(real_rows: ResultPage) -> None:
    assert real_rows.has_warning is False


def test_real_rows_page_order(real_rows: ResultPage) -> None:
    assert [row.rate_number for row in real_rows.rows] == [
        "00190534",
        "01021534",
        "31865347",
        "02534009",
        "09534141",
        "44534253",
    ]


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("pin", 1190534),
        ("ptype", "1"),
        ("ftype", "1"),
        ("details_href", "../FramePages/SearchDeatils.aspx?id=1190534&PType=1&FType=1"),
        ("rate_number", "00190534"),
        ("legal_description", "ERF 30781 of PINETOWN"),
        ("address", "16 MAHOGANY ROAD, MAHOGANY RIDGE"),
        ("first_owner", "ZEDEK TRADING 656 PROPRIETARY LIMITED"),
        ("use_code", "Industrial (45)"),
        ("rating_category", "Industrial"),
        ("market_value", "60,760,000"),
        ("registered_extent", "22,702"),
    ],
)
def test_row_00190534_field(real_rows: ResultPage, field: str, expected: object) -> None:
    row = row_by_rate_number(real_rows, "00190534")
    assert getattr(row, field) == expected


def test_empty_market_value_kept_empty(real_rows: ResultPage) -> None:
    assert row_by_rate_number(real_rows, "01021534").market_value == ""


def test_padded_address_keeps_inner_spaces(real_rows: ResultPage) -> None:
    row = row_by_rate_number(real_rows, "01021534")
    assert row.address == "YACHT MOLE                      , ESPLANADE"


def test_second_padded_address(real_rows: ResultPage) -> None:
    row = row_by_rate_number(real_rows, "44534253")
    assert row.address == "BRAESIDE ROAD                   , SEA VIEW"


def test_ampersand_entity_decoded(real_rows: ResultPage) -> None:
    assert row_by_rate_number(real_rows, "31865347").first_owner == "REGIONAL & LAND AFFAIRS"


def test_greater_than_entity_decoded(real_rows: ResultPage) -> None:
    row = row_by_rate_number(real_rows, "02534009")
    assert row.use_code == "Mixed Use: > 2/3 Residential (42)"


def test_raw_apostrophe_kept(real_rows: ResultPage) -> None:
    row = row_by_rate_number(real_rows, "09534141")
    assert row.first_owner == "CHETTY'S TYRE BREAKDOWN SERVICE CC"


def test_ptype_read_from_link(real_rows: ResultPage) -> None:
    assert row_by_rate_number(real_rows, "01021534").ptype == "3"


def test_warning_page_flag(page: PageReader) -> None:
    result = parse_result_page(page("result-warning.html"))
    assert result.has_warning is True


def test_warning_page_rows(page: PageReader) -> None:
    # The site prints the warning only from 1000 rows on; the parser does not rely on that.
    result = parse_result_page(page("result-warning.html"))
    assert [row.rate_number for row in result.rows] == ["96150534", "51534286"]


def test_warning_page_total(page: PageReader) -> None:
    assert parse_result_page(page("result-warning.html")).total == 2


def test_no_match_total(page: PageReader) -> None:
    assert parse_result_page(page("result-no-match.html")).total == 0


def test_no_match_rows(page: PageReader) -> None:
    assert parse_result_page(page("result-no-match.html")).rows == []


def test_no_match_warning(page: PageReader) -> None:
    assert parse_result_page(page("result-no-match.html")).has_warning is False


def test_sectional_legal_description(page: PageReader) -> None:
    result = parse_result_page(page("result-sectional.html"))
    assert result.rows[0].legal_description == "Section 12 of SS SUN & SAND"


def test_sectional_ftype(page: PageReader) -> None:
    assert parse_result_page(page("result-sectional.html")).rows[0].ftype == "2"


def test_sectional_decimal_extent(page: PageReader) -> None:
    assert parse_result_page(page("result-sectional.html")).rows[1].registered_extent == ".25"


def test_missing_rate_number_is_empty(page: PageReader) -> None:
    # The site adds a second "Details" link when the rate number is empty.
    row = parse_result_page(page("result-sectional.html")).rows[2]
    assert row.rate_number == ""


def test_missing_rate_number_row_pin(page: PageReader) -> None:
    assert parse_result_page(page("result-sectional.html")).rows[2].pin == 8800114


def test_missing_rate_number_row_empty_cells(page: PageReader) -> None:
    row = parse_result_page(page("result-sectional.html")).rows[2]
    assert (row.first_owner, row.use_code, row.market_value) == ("", "", "")


def test_bytes_input(page: PageReader) -> None:
    result = parse_result_page(page("result-real-rows.html").encode("utf-8"))
    assert result.total == 6


def test_caption_mismatch_raises(page: PageReader) -> None:
    with pytest.raises(LayoutChangedError, match="counts 3 records but the table has 2"):
        parse_result_page(page("result-count-mismatch.html"))


def test_truncated_page_raises(page: PageReader) -> None:
    with pytest.raises(LayoutChangedError, match="truncated"):
        parse_result_page(page("result-truncated.html"))


def test_error_includes_url(page: PageReader) -> None:
    url = "http://127.0.0.1:9/FramePages/SearchResult.aspx?Roll=1"
    with pytest.raises(LayoutChangedError) as caught:
        parse_result_page(page("result-truncated.html"), url)
    assert caught.value.url == url


def test_blocked_page_raises(page: PageReader) -> None:
    with pytest.raises(BlockedError):
        parse_result_page(page("blocked.html"))


def test_server_error_page_raises(page: PageReader) -> None:
    with pytest.raises(ServerError):
        parse_result_page(page("server-error.html"))


def test_missing_table_raises(page: PageReader) -> None:
    html = page("result-real-rows.html").replace("searchResultTable", "resultTable")
    with pytest.raises(LayoutChangedError, match=r"no table\.searchResultTable"):
        parse_result_page(html)


def test_missing_caption_raises(page: PageReader) -> None:
    html = page("result-real-rows.html").replace('class="searchResultCaption"', "")
    with pytest.raises(LayoutChangedError, match="no caption"):
        parse_result_page(html)


def test_unparsable_caption_raises(page: PageReader) -> None:
    html = page("result-real-rows.html").replace("Total found records: 6", "Total found: six")
    with pytest.raises(LayoutChangedError, match="no record count"):
        parse_result_page(html)


def test_changed_header_raises(page: PageReader) -> None:
    html = page("result-real-rows.html").replace(">First Owner<", ">Owner<")
    with pytest.raises(LayoutChangedError, match="header"):
        parse_result_page(html)


def test_missing_header_raises(page: PageReader) -> None:
    html = page("result-real-rows.html").replace(' class="SearchResultRowHeader"', "")
    html = html.replace("<th", "<td").replace("</th>", "</td>")
    with pytest.raises(LayoutChangedError, match="no header row"):
        parse_result_page(html)


def test_row_with_seven_cells_raises(page: PageReader) -> None:
    html = page("result-real-rows.html").replace(
        '<td align="right" style="padding-right:2px">22,702</td>', "", 1
    )
    with pytest.raises(LayoutChangedError, match="7 cells, expected 8"):
        parse_result_page(html)


def test_row_without_numeric_pin_raises(page: PageReader) -> None:
    html = page("result-real-rows.html").replace("?id=1190534&amp;", "?id=&amp;")
    with pytest.raises(LayoutChangedError, match="numeric id"):
        parse_result_page(html)


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("../FramePages/SearchDeatils.aspx?id=1190534&PType=1&FType=1", (1190534, "1", "1")),
        ("../FramePages/SearchDeatils.aspx?id=7&PType=&FType=2", (7, "", "2")),
        ("../FramePages/SearchDeatils.aspx?id=7", (7, "", "")),
        ("../FramePages/SearchDeatils.aspx?ID=7&ptype=4&ftype=2", (7, "4", "2")),
        ("../FramePages/SearchDeatils.aspx?id=&PType=1&FType=1", None),
        ("../FramePages/SearchDeatils.aspx?id=12a&PType=1&FType=1", None),
        ("../FramePages/SearchDeatils.aspx", None),
    ],
)
def test_parse_details_href(href: str, expected: tuple[int, str, str] | None) -> None:
    assert parse_details_href(href) == expected
