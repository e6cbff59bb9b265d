"""SearchCrit.aspx (Full Title) and SearchCrit2.aspx (Sectional Title), the criteria forms."""

# The markup keeps the site's own long lines, so line length is not checked here.
# ruff: noqa: E501

from __future__ import annotations

from durban_valuations.replica.html_frames import THEME_LINK, XHTML_DOCTYPE
from durban_valuations.replica.roll import ListOption, ReplicaRoll

VOLUME_PLACEHOLDER = "[--Select Volume No.--]"
SUBURB_PLACEHOLDER = "[--Select Suburb--]"
SCHEME_PLACEHOLDER = "[--Select Scheme Name--]"
_TEXT_STYLE = (
    'style="border-color:Silver;border-width:1px;border-style:Solid;'
    'font-family:Arial;font-size:8pt;width:120px;"'
)
_SELECT_STYLE = 'style="font-family:Arial;font-size:8pt;width:200px;"'


def html_encode(text: str) -> str:
    """Encode text as .NET 4 `HttpUtility.HtmlEncode` does (`&`, `<`, `>`, `"`, `'`)."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def render_options(placeholder: str, options: list[ListOption]) -> str:
    """Render option lines as HtmlSelect does: one tab-indented line each, placeholder selected."""
    lines = [f'\t<option selected="selected" value="">{html_encode(placeholder)}</option>']
    lines.extend(
        f'\t<option value="{html_encode(option.value)}">{html_encode(option.text)}</option>'
        for option in options
    )
    return "\n".join(lines) + "\n"


def _text_input(name: str, maxlength: int, empty_value: bool = False) -> str:
    value = ' value=""' if empty_value else ""
    return f'<input name="{name}" type="text"{value} id="{name}" {_TEXT_STYLE} maxlength="{maxlength}" />'


def _page(title: str, roll: ReplicaRoll, cadastral_row: str, script: str) -> str:
    volume_options = render_options(VOLUME_PLACEHOLDER, roll.volumes)
    suburb_options = render_options(SUBURB_PLACEHOLDER, roll.suburbs)
    return f"""
{XHTML_DOCTYPE}

<html xmlns="http://www.w3.org/1999/xhtml">
<head id="Head1"><title>
\t{title}
</title>{THEME_LINK}</head>
<body>
    <form name="form1" method="post" action="{"SearchCrit.aspx" if "Full" in title else "SearchCrit2.aspx"}" id="form1">
<div>
<input type="hidden" name="__VIEWSTATE" id="__VIEWSTATE" value="/wEPDwUKMTM2NTk5NDQ2NWRk" />
</div>
      <div>
      <table id="3DTable1" cellSpacing="0" cellPadding="0" width="100%" border="0">
        <TR>
          <TD class="FormH" width="60%">Search Value Assist - Property</TD>
          <TD class="FormH" width="40%" align="left">
          <table cellpadding="0" cellspacing="0" border="0">
                <tr>
                    <td><input type="submit" name="btnSearch" value="Search" onclick="javascript:return SearchResult();" id="btnSearch" accesskey="s" title="Click to Search result" class="button" style="cursor:hand;" /></td>
                    <td><input type="submit" name="btnReset" value="Reset" id="btnReset" onclick="javascript:return Reset();" accesskey="r" title="Clear all the search values." class="button" style="cursor:hand;" /></td>
                    <td><input type="submit" name="btnBack" value="Back" id="btnBack" accesskey="b" onclick="javascript:return BackPerv();" title="Back to the previous page" class="button" style="cursor:hand;" /></td>
                </tr>
            </table>
          </TD>
        </TR>
        <tr>
            <TD class="SearchBlank" colSpan="2" align="center"></TD>
        </tr>
       <TR>
          <TD colSpan="2" >
    <table border="0" cellpadding="0" cellspacing="1" width="100%" >
                    <tr>
                      <td colspan="7" class="windowHeaderSearch PaddingLeftSearch" > Rate Number  </td>
                    </tr>
                     <tr class="searchContentRowStyle" >
                            <td class="PaddingLeftSearch PaddingSearchWidth"></td>
                            <td class="widowRowCaptionSearch">Volume No.</td>
                            <td class="windowRowContentSearch">
    <select name="drpVolumeNo" id="drpVolumeNo" style="font-family:Arial;font-size:8pt;width:120px;">
{volume_options}
</select></td>
                            <td class="widowRowCaptionSearch ">Rate Number</td>
                            <td class="windowRowContentSearch">
                            {_text_input("txtRateNumber", 10)}</td>
                            <td colspan="2"><span id="SearchCriteria1_ValidateCriteria"  style="color:Red;font-family:Arial;font-size:8pt;display:none;">Please enter atleast one search criteria.</span></td>
                    </tr>
                <tr>
                    <td class="SearchsubBlank" colSpan="7"></td>
                </tr>
                <tr>
                    <td colspan="7" class="windowHeaderSearch PaddingLeftSearch" >Physical Address</td>
                </tr>
                 <tr class="searchContentRowStyle">
                            <td class="PaddingLeftSearch PaddingSearchWidth"></td>
                            <td class="widowRowCaptionSearch ">Street No.</td>
                            <td class="windowRowContentSearch">{_text_input("txtStreetNo", 20)}</td>
                            <td class="widowRowCaptionSearch ">Street Name</td>
                            <td class="windowRowContentSearch">{_text_input("txtStreetName", 30, empty_value=True)}</td>
                            <td class="widowRowCaptionSearch ">Suburb</td>
                            <td class="windowRowContentSearch"><select name="drpSuburb" id="drpSuburb" {_SELECT_STYLE}>
{suburb_options}
</select></td>
                    </tr>
                     <tr>
                        <td class="SearchsubBlank" colSpan="7"></td>
                     </tr>
                   <tr>
                            <td colspan="7" class="windowHeaderSearch PaddingLeftSearch" >Cadastral Description</td>
                    </tr>
{cadastral_row}
</table>
</table>
    </div>
    </form>
</body>
</html>
{script}"""


def render_full_title_criteria(roll: ReplicaRoll, deeds_town_placeholder: str) -> str:
    """Render SearchCrit.aspx: volume, rate number, address, suburb, ERF, portion, deeds town."""
    deeds_options = render_options(deeds_town_placeholder, roll.deeds_towns)
    row = f"""                 <tr id="SearchCriteria1_rowFullTitle" class="searchContentRowStyle">
\t<td class="PaddingLeftSearch PaddingSearchWidth"></td>
\t<td class="widowRowCaptionSearch ">ERF</td>
\t<td class="windowRowContentSearch">
                            {_text_input("txtERF", 10)}
                            </td>
\t<td class="widowRowCaptionSearch ">Portion</td>
\t<td class="windowRowContentSearch">{_text_input("txtPortion", 10)}</td>
\t<td class="widowRowCaptionSearch ">Deeds Town</td>
\t<td class="windowRowContentSearch"><select name="drpDeedsTown" id="drpDeedsTown" {_SELECT_STYLE}>
{deeds_options}
</select></td>
</tr>"""
    return _page("Search:Full Title Criteria", roll, row, FULL_TITLE_SCRIPT)


def render_sectional_criteria(roll: ReplicaRoll) -> str:
    """Render SearchCrit2.aspx: the shared fields plus section number, scheme and whole-scheme box."""
    scheme_options = render_options(SCHEME_PLACEHOLDER, roll.schemes)
    row = f"""                 <tr id="SearchCriteria1_rowSectionTitle" class="searchContentRowStyle">
\t<td class="PaddingLeftSearch PaddingSearchWidth"></td>
\t<td class="widowRowCaptionSearch ">Section Number</td>
\t<td class="windowRowContentSearch">{_text_input("txtSectionNumber", 10)}</td>
\t<td class="widowRowCaptionSearch ">Scheme Name</td>
\t<td class="windowRowContentSearch"><select name="drpScheme" id="drpScheme" {_SELECT_STYLE}>
{scheme_options}
</select></td>
\t<td class="windowRowContentSearch"><input type="checkbox" id="chkScheme" value="chkS" title="Show whole scheme" class="chkBox" /> Show whole scheme
\t<span id="spnSchemeName" style="color:Red;font-family:Arial;font-size:8pt;display:none;">Please select scheme.</span></td>
</tr>"""
    return _page("Search:Sectional Title Criteria", roll, row, SECTIONAL_SCRIPT)


# Both scripts build the result URL exactly as the live pages do: the 12 parameters in a fixed
# order, values concatenated without URL-encoding, loaded into the sibling frame frameSearch.
_SHARED_SCRIPT = """    function BackPerv() { history.back(-1); return false; }
    function getTextObjectValue(id) {
        var value = 0;
        try { value = document.getElementById(id).value; isValidQuantity(value); } catch (e) { }
        return value;
    }
    function GetValueFromDropDownCombo(id) {
        var value = "";
        try { var select = document.getElementById(id); value = select.options[select.selectedIndex].value; } catch (e) { }
        return value;
    }
    function setNullTextBox(id) { try { document.getElementById(id).value = ''; } catch (e) { } }
    function SetNullDropDownCombo(id) { try { document.getElementById(id).selectedIndex = 0; } catch (e) { } }
    function allEmpty(values) {
        for (var i = 0; i < values.length; i++) { if (values[i].length > 0) { return false; } }
        return true;
    }
"""

FULL_TITLE_SCRIPT = f"""
<script language="javascript">
{_SHARED_SCRIPT}    function Reset() {{
        setNullTextBox("txtRateNumber"); setNullTextBox("txtStreetNo"); setNullTextBox("txtStreetName");
        setNullTextBox("txtERF"); setNullTextBox("txtPortion");
        SetNullDropDownCombo("drpVolumeNo"); SetNullDropDownCombo("drpSuburb"); SetNullDropDownCombo("drpDeedsTown");
        return false;
    }}
    function SearchResult() {{
        try {{
            var VolumeNo = GetValueFromDropDownCombo("drpVolumeNo"); var RateNumber = getTextObjectValue("txtRateNumber");
            var StreetNo = getTextObjectValue("txtStreetNo"); var StreetName = getTextObjectValue("txtStreetName");
            var Suburb = GetValueFromDropDownCombo("drpSuburb"); var ERF = getTextObjectValue("txtERF");
            var Portion = getTextObjectValue("txtPortion"); var DeedsTown = GetValueFromDropDownCombo("drpDeedsTown");
            var SchemeName = ''; var SectionNumber = '';
            var validation = document.getElementById("SearchCriteria1_ValidateCriteria");
            if (allEmpty([VolumeNo, RateNumber, StreetNo, StreetName, Suburb, ERF, Portion, DeedsTown, SchemeName, SectionNumber])) {{
                validation.style.display = "block"; return false;
            }}
            validation.style.display = "none";
            var URL = "SearchResult.aspx?Roll=1&VolumeNo=" + VolumeNo + "&RateNumber=" + RateNumber + "&StreetNo=" + StreetNo + "&StreetName=" + StreetName + "&Suburb=" + Suburb + "&ERF=" + ERF + "&Portion=" + Portion + "&DeedsTown=" + DeedsTown + "&SchemeName=" + SchemeName + "&SectionNumber=" + SectionNumber + "&All=false";
            parent.frameSearch.location.href = URL; return false;
        }} catch (e) {{ alert(e.description); }}
        return false;
    }}
</script>
"""

SECTIONAL_SCRIPT = f"""
<script language="javascript">
{_SHARED_SCRIPT}    function Reset() {{
        setNullTextBox("txtRateNumber"); setNullTextBox("txtStreetNo"); setNullTextBox("txtStreetName");
        setNullTextBox("txtSectionNumber");
        SetNullDropDownCombo("drpVolumeNo"); SetNullDropDownCombo("drpSuburb"); SetNullDropDownCombo("drpScheme");
        document.getElementById("chkScheme").checked = false;
        return false;
    }}
    function SearchResult() {{
        try {{
            var VolumeNo = GetValueFromDropDownCombo("drpVolumeNo"); var RateNumber = getTextObjectValue("txtRateNumber");
            var StreetNo = getTextObjectValue("txtStreetNo"); var StreetName = getTextObjectValue("txtStreetName");
            var Suburb = GetValueFromDropDownCombo("drpSuburb"); var SectionNumber = getTextObjectValue("txtSectionNumber");
            var scheme = document.getElementById("drpScheme");
            var SchemeName = scheme.options[scheme.selectedIndex].text;
            if (SchemeName == "[--Select Scheme Name--]") {{ SchemeName = ''; }}
            var All = document.getElementById("chkScheme").checked ? "true" : "false";
            var validation = document.getElementById("SearchCriteria1_ValidateCriteria");
            var schemeValidation = document.getElementById("spnSchemeName");
            if (All == "true" && SchemeName.length <= 0) {{ schemeValidation.style.display = "block"; return false; }}
            schemeValidation.style.display = "none";
            if (allEmpty([VolumeNo, RateNumber, StreetNo, StreetName, Suburb, SchemeName, SectionNumber])) {{
                validation.style.display = "block"; return false;
            }}
            validation.style.display = "none";
            var URL = "SearchResult.aspx?Roll=2&VolumeNo=" + VolumeNo + "&RateNumber=" + RateNumber + "&StreetNo=" + StreetNo + "&StreetName=" + StreetName + "&Suburb=" + Suburb + "&ERF=&Portion=&DeedsTown=&SchemeName=" + SchemeName + "&SectionNumber=" + SectionNumber + "&All=" + All;
            parent.frameSearch.location.href = URL; return false;
        }} catch (e) {{ alert(e.description); }}
        return false;
    }}
</script>
"""
