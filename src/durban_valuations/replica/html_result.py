"""SearchResult.aspx: the page wrapper and the XSLT-made result table."""

# The markup keeps the site's own long lines, so line length is not checked here.
# ruff: noqa: E501

from __future__ import annotations

from durban_valuations.replica.html_frames import THEME_LINK, XHTML_DOCTYPE
from durban_valuations.replica.numbers import format_number
from durban_valuations.replica.roll import Property

WARNING_THRESHOLD = 1000
WARNING_TEXT = (
    "Due to resource constraints this search only returns a maximum of 100 records. "
    "If the property you're looking for is unavailable in the list, Please refine the Search"
)
NO_MATCH_TEXT = "No Match records found. Please refine the Search."
HEADERS = (
    "Rate Number ", "Legal Description", "Address", "First Owner", "Use Code", "Rating Category",
    "Market Value", "Registered Extent",
)  # fmt: skip
# .NET writes the XSLT output with CRLF line ends and two-space indentation per level.
NL = "\r\n"

# Opened outside the frameset, the page sends the browser to the home frameset.
FRAME_GUARD_SCRIPT = (
    '<script language="javascript" type="text/javascript">try{ var frameset = '
    "parent.document.getElementById('frmSearchType'); if (frameset == null) "
    '{ location.href="./../PropertySearch.htm"; } else { frameset.rows="155,*"; } }catch(e){} '
    "function LoadingLayers(){}</script>"
)
RATES_POPUP_SCRIPT = (
    '<script language="javascript" type="text/javascript">function popUpRatesWindow(MarketValue, '
    "CatMapId){ window.open('../RatesCalculator.aspx?Marketvalue=' + MarketValue + '&CatMapId=' + "
    "CatMapId, 'Rates', 'width=600,height=400,scrollbars=yes'); }</script>"
)


def xslt_text(text: str) -> str:
    """Escape text as the XSLT HTML output method does: `&`, `<` and `>`; quotes stay raw."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xslt_attribute(text: str) -> str:
    """Escape an attribute value as the XSLT HTML output method does: `&` and `"`."""
    return text.replace("&", "&amp;").replace('"', "&quot;")


def details_href(prop: Property) -> str:
    """Return the details link as the table prints it, `&` already escaped."""
    return f"../FramePages/SearchDeatils.aspx?id={prop.pin}&amp;PType={prop.ptype}&amp;FType={prop.ftype}"


def _link(href: str, text: str) -> str:
    return (
        '<a class="searchResultTblLink" alt="Click to View the property profile" '
        f'Title="Click to View the property profile" href="{href}" '
        f'onclick="javascript:LoadingLayers();">{text}</a>'
    )


def render_row(prop: Property, position: int) -> str:
    """Render one data row; `position` counts from 1 and picks class color1 or color0."""
    href = details_href(prop)
    rate_cell = _link(href, xslt_text(prop.rate_number))
    if not prop.rate_number:
        rate_cell += f"{NL}              {_link(href, 'Details')}"
    indent = " " * 12
    cells = (
        f'{indent}<td align="left">{NL}              {rate_cell}{NL}{indent}</td>',
        f'{indent}<td align="left">{NL}              {_link(href, xslt_text(prop.legal_description))}'
        f"{NL}{indent}</td>",
        f'{indent}<td align="left">{xslt_text(prop.address)}</td>',
        f'{indent}<td align="left">{xslt_text(prop.first_owner)}</td>',
        f'{indent}<td align="left" width="10%">{xslt_text(prop.use_code)}</td>',
        f'{indent}<td align="left" width="10%">{xslt_text(prop.rating_category)}</td>',
        f'{indent}<td align="right" style="padding-right:2px">{format_number(prop.market_value, 0)}</td>',
        f'{indent}<td align="right" style="padding-right:2px">'
        f"{format_number(prop.registered_extent, 2)}</td>",
    )
    return f'          <tr class="color{position % 2}">{NL}{NL.join(cells)}{NL}          </tr>{NL}'


def render_result_table(properties: list[Property], show_warning: bool | None = None) -> str:
    """Render the XSLT output: its own html/body, div#resultPanel and table.searchResultTable.

    The warning row appears when `show_warning` is True, or when it is None and there are
    at least WARNING_THRESHOLD rows.
    """
    total = len(properties)
    if show_warning is None:
        show_warning = total >= WARNING_THRESHOLD
    parts = [
        f'<html>{NL}  <body>{NL}    <div id="resultPanel">{NL}',
        '      <table border="1" width="100%" align="left" class="searchResultTable" '
        f'cellspacing="1" cellpadding="0">{NL}',
    ]
    if show_warning:
        parts.append(
            f'        <tr bgcolor="#9acd32" class="HeaderMessage">{NL}'
            f'          <td colspan="9" align="center">{xslt_text(WARNING_TEXT)}</td>{NL}'
            f"        </tr>{NL}"
        )
    parts.append(
        f"        <tr>{NL}"
        f'          <td colspan="9" class="searchResultCaption">{NL}'
        f"                  Search Results (Total found records: {total}){NL}"
        f"              </td>{NL}"
        f"        </tr>{NL}"
    )
    if total > 0:
        header_cells = NL.join(f'          <th align="left">{header}</th>' for header in HEADERS)
        parts.append(
            f'        <tr bgcolor="#9acd32" class="SearchResultRowHeader">{NL}{header_cells}{NL}'
            f"        </tr>{NL}        <div>{NL}"
        )
        parts.extend(render_row(prop, position) for position, prop in enumerate(properties, 1))
        parts.append(f"        </div>{NL}")
    else:
        parts.append(
            f"        <tr>{NL}"
            f'          <td colspan="9" class="Message"><b>{NO_MATCH_TEXT}</b></td>{NL}'
            f"        </tr>{NL}"
        )
    parts.append(f"      </table>{NL}    </div>{NL}  </body>{NL}</html>")
    return "".join(parts)


def render_result_page(
    properties: list[Property], raw_query: str, show_warning: bool | None = None
) -> str:
    """Render SearchResult.aspx around the result table; the form posts back to the same URL.

    `show_warning` is passed on to render_result_table.
    """
    action = xslt_attribute(f"SearchResult.aspx?{raw_query}" if raw_query else "SearchResult.aspx")
    return (
        f"{NL}{XHTML_DOCTYPE}{NL}{NL}"
        f'<html xmlns="http://www.w3.org/1999/xhtml">{NL}'
        f'<head id="Head1"><title>{NL}\tSearch Result{NL}</title>{NL}'
        f"    {FRAME_GUARD_SCRIPT}{NL}{THEME_LINK}</head>{NL}"
        f"<body>{NL}"
        f'    <form name="form1" method="post" action="{action}" id="form1">{NL}'
        f"<div>{NL}"
        '<input type="hidden" name="__VIEWSTATE" id="__VIEWSTATE" '
        f'value="/wEPDwUKMTY1NDU2MTA1MmRk" />{NL}'
        f"</div>{NL}{NL}"
        f'    <div align="center">{NL}'
        f"{render_result_table(properties, show_warning)}{NL}"
        f"    </div>{NL}"
        f"    </form>{NL}"
        f"</body>{NL}"
        f"{RATES_POPUP_SCRIPT}{NL}"
        f"</html>{NL}"
    )
