"""SearchDeatils.aspx (sic): the property profile of one PIN."""

# The markup keeps the site's own long lines, so line length is not checked here.
# ruff: noqa: E501

from __future__ import annotations

from durban_valuations.replica.html_result import NL, xslt_attribute, xslt_text
from durban_valuations.replica.numbers import format_number
from durban_valuations.replica.roll import Property

PROFILE_THEME_LINK = (
    '<link href="../App_Themes/PINDetails/PinDetails.css" type="text/css" rel="stylesheet" />'
)
# Inside the frameset the page resizes it. Opened alone, it sends the browser home, and the
# body's test() then fails and shows an alert, as on the live site.
DETAILS_FRAME_GUARD = (
    '<script language="javascript" type="text/javascript">try{ var frameset = '
    "parent.document.getElementById('frmSearchType'); if (frameset == null) "
    '{ location.href="./../PropertySearch.htm"; } else { frameset.rows="195,*"; } }catch(e){}</script>'
)
RESIZE_SCRIPT = (
    '<script language="javascript" type="text/javascript">function test(){ try { '
    "parent.document.getElementById('frmSearchType').rows=\"0,*\"; } catch(e) "
    "{ alert(e.description); } } test();</script>"
)


def _pair_row(left: tuple[str, str], right: tuple[str, str]) -> str:
    left_caption, left_value = left
    right_caption, right_value = right
    return (
        f"                <tr>{NL}"
        f'                  <td class="widowRowCaption">{left_caption}</td>{NL}'
        f'                  <td class="tdContaint">{xslt_text(left_value)}</td>{NL}'
        f'                  <td class="widowRowCaption">{right_caption}</td>{NL}'
        f'                  <td class="tdContaint">{xslt_text(right_value)}</td>{NL}'
        f"                </tr>{NL}"
    )


def _inner_table(rows: list[tuple[tuple[str, str], tuple[str, str]]]) -> str:
    body = "".join(_pair_row(left, right) for left, right in rows)
    return (
        '              <table class="tblInner" width="100%" border="1" cellpadding="0" '
        f'cellspacing="0">{NL}{body}              </table>{NL}'
    )


def _property_details_rows(prop: Property | None) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """Return the Property Details caption/value pairs: sectional layout for roll 2, else full."""

    def value(name: str) -> str:
        return str(getattr(prop, name)) if prop is not None else ""

    if prop is not None and prop.roll == "sectional":
        return [
            (("Section Number", value("section_number")), ("Scheme Name", value("scheme_name"))),
            (("Scheme Number", value("scheme_number")), ("SRA Code", value("sra_code"))),
            (("Use Code", value("use_code")), ("Rating Category", value("rating_category"))),
            (("Government Code", value("government_code")), ("", "")),
            (("Exemptions", value("exemptions")), ("Rebates", value("rebates"))),
            (("Phasing In", value("phasing_in")), ("Exclusions", value("exclusions"))),
        ]
    return [
        (("ERF Number", value("erf")), ("Deeds Township/ Farm", value("deeds_town"))),
        (("Use Code", value("use_code")), ("Rating Category", value("rating_category"))),
        (("Government Code", value("government_code")), ("", "")),
        (("Exemptions", value("exemptions")), ("Rebates", value("rebates"))),
        (("Phasing In", value("phasing_in")), ("Exclusions", value("exclusions"))),
        (("SRA Code", value("sra_code")), ("Property Type", value("property_type"))),
    ]


def _section_header(title: str, div_id: str) -> str:
    return (
        f'          <tr><td class="BlankRow"> </td></tr>{NL}'
        f'          <tr><td class="windowSubHeader1"><div style="cursor:hand;" '
        f"onclick=\"javascript:ToggleDiv('{div_id}')\">{title}</div></td></tr>{NL}"
    )


def render_profile(prop: Property | None) -> str:
    """Render the profile XSLT output; None renders the skeleton with empty values."""
    rate_number = prop.rate_number if prop else ""
    description = prop.legal_description if prop else ""
    address = prop.address if prop else ""
    extent = format_number(prop.registered_extent, 2) if prop else ""
    market_value = format_number(prop.market_value, 2) if prop else ""
    owners = prop.owners if prop else ()
    owner_rows = "".join(
        f'                <tr><td class="tdContaint">{xslt_text(owner)}</td></tr>{NL}'
        for owner in owners
    )
    return (
        f"<html>{NL}  <body>{NL}"
        '    <table class="tableWithBorderCSS" border="0" cellpadding="0" cellspacing="0" '
        f'width="100%"><tr><td>{NL}'
        '      <table border="0" width="100%" cellpadding="0" cellspacing="0" '
        f'style="padding-left:10px;padding-right:10px;">{NL}'
        f'        <tr><td class="windowHeader1" align="center">Property Profile</td></tr>{NL}'
        f'        <tr><td><table width="100%" border="0" cellpadding="0" cellspacing="0">{NL}'
        f'          <tr><td valign="top">{NL}'
        + _inner_table(
            [
                (("Rate Number", rate_number), ("Property Description", description)),
                (("Address", address), ("Registered Extent (m²)", extent)),
            ]
        )
        + f"          </td></tr>{NL}"
        + _section_header("Property Details", "divPropertDetails")
        + f'          <tr><td valign="top"><div id="divPropertDetails" style="display:block;">{NL}'
        + _inner_table(_property_details_rows(prop))
        + f"          </div></td></tr>{NL}"
        + _section_header("Valuations", "divValuations")
        + f'          <tr><td valign="top"><div id="divValuations" style="display:block;">{NL}'
        '              <table class="tblInner" width="100%" border="1" cellpadding="0" '
        f'cellspacing="0"><tr>{NL}'
        f'                <td class="widowRowCaption" width="10%">Market Value</td>{NL}'
        f'                <td class="tdContaint">{market_value}</td>{NL}'
        f"                <td width='9%' class='widowRowCaptionBlank'></td>"
        f'<td class="tdContaint"></td>{NL}'
        f"              </tr></table></div></td></tr>{NL}"
        + _section_header("Owners", "divOwnsers")
        + f'          <tr><td valign="top"><div id="divOwnsers" style="display:block;">{NL}'
        '              <table class="tblInner" width="100%" border="1" cellpadding="0" '
        f'cellspacing="0">{NL}'
        f'                <tr><td class="widowRowCaption" align="center">Name</td></tr>{NL}'
        + owner_rows
        + f"              </table></div></td></tr>{NL}"
        f"        </table></td></tr>{NL}"
        f"      </table>{NL}"
        f"    </td></tr></table>{NL}"
        f"  </body>{NL}</html>"
    )


def render_details_page(prop: Property | None, raw_query: str) -> str:
    """Render SearchDeatils.aspx: the wrapper with Back and Section 49 buttons around the profile."""
    action = xslt_attribute(f"SearchDeatils.aspx?{raw_query}")
    pin = prop.pin if prop else 0
    return (
        f'{NL}<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
        f'"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">{NL}{NL}'
        f'<html xmlns="http://www.w3.org/1999/xhtml">{NL}'
        f'<head id="Head1"><title>{NL}\tPIN Details{NL}</title>{NL}'
        f"    {DETAILS_FRAME_GUARD}{NL}{PROFILE_THEME_LINK}</head>{NL}"
        f"<body>{NL}"
        f'    <form name="form1" method="post" action="{action}" id="form1">{NL}'
        f"<div>{NL}"
        f'<input type="hidden" name="__VIEWSTATE" id="__VIEWSTATE" value="/wEPDwUKLTUyNjg0MzQ0OWRk" />{NL}'
        f"</div>{NL}"
        f'<table id="3DTable1" cellspacing="0" cellpadding="0" width="100%" border="0">{NL}'
        f'  <tr><td style="width: 57%" class="FormH">Search Value Assist - Property</td>{NL}'
        f'      <td class="FormH"><table border="0"><tr>{NL}'
        '        <td><input type="button" class="button" value="Back" onclick="history.back()" '
        f'title="Back to the search result" /></td>{NL}'
        '        <td><input type="button" class="button" id="SearchResult1_btnSection49" '
        'name="SearchResult1$btnSection49" value="Section 49 - English" '
        f"onclick=\"javascript:window.open('Section49.aspx?PIN={pin}&amp;Lang=E');\" "
        f'title="Section 49 Notice - English" /></td>{NL}'
        f"      </tr></table></td></tr>{NL}"
        f'  <tr><td colspan="2" valign="top">{NL}{render_profile(prop)}{NL}  </td></tr>{NL}'
        f"</table>{NL}"
        f"{RESIZE_SCRIPT}{NL}"
        f"    </form>{NL}"
        f"</body>{NL}"
        f"</html>{NL}"
    )
