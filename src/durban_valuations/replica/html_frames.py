"""Fixed pages of the site: the framesets, the header and footer frames and blank.htm."""

# The markup keeps the site's own long lines, so line length is not checked here.
# ruff: noqa: E501

from __future__ import annotations

XHTML_DOCTYPE = (
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
    '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">'
)
THEME_LINK = '<link href="../App_Themes/Default/Default.css" type="text/css" rel="stylesheet" />'

# The live source lacks a space before noResize on the top frame; browsers still read both.
PROPERTY_SEARCH_HTM = """<html>
<head>
<title>VALUATION ROLL (GV 2022)</title>
</head>
<FRAMESET border="0" frameSpacing="0" rows="125,*,25" frameBorder="no">
\t<FRAME id="topFrame" name="topFrame" src="FramePages/Header.aspx"noResize="noResize" scrolling="no">
\t<FRAME id="mainFrame" name="mainFrame" class="SearchResultRowHeader" title="Profile" src="FramePages/SearchType.aspx">
\t<FRAME id="bottomFrame" name="bottomFrame" src="FramePages/Footer.aspx" noResize scrolling="no">
</FRAMESET>
</html>
"""


def render_search_frameset(roll_value: str) -> str:
    """Render Search.aspx (roll "1") or Search2.aspx (roll "2"), the criteria/result frameset.

    Search2.aspx has an empty server form, so it also carries a `__VIEWSTATE` field.
    """
    if roll_value == "1":
        title, criteria_page, body = "Search:Full Title Properties", "SearchCrit.aspx", ""
    else:
        title, criteria_page = "Search : Sectional Title", "SearchCrit2.aspx"
        body = (
            '\n    <form name="form1" method="post" action="Search2.aspx" id="form1">\n<div>\n'
            '<input type="hidden" name="__VIEWSTATE" id="__VIEWSTATE" '
            'value="/wEPDwUKLTEzNDM3NzkxOWRk" />\n</div>\n    </form>\n'
        )
    return f"""{XHTML_DOCTYPE}

<html xmlns="http://www.w3.org/1999/xhtml">
<head><title>
\t{title}
</title>{THEME_LINK}</head>
<FRAMESET border="0" id="frmSearchType" frameSpacing="0" rows="155,*" frameBorder="no">
  <FRAME id="frmSearchCriter" name="frmSearchCriter" src="{criteria_page}"  scrolling="no" height="155px">
  <FRAME id="frameSearch" name="frameSearch" src="blank.htm" scrolling="auto">
</FRAMESET>
<body>{body}</body>
</html>
"""


HEADER_ASPX = f"""{XHTML_DOCTYPE}

<html xmlns="http://www.w3.org/1999/xhtml">
<head><title>
\tHeader
</title>{THEME_LINK}</head>
<body>
<table width="100%" border="0" cellspacing="0" cellpadding="0">
  <tr>
    <td width="200"><img src="../images/ethekwini_topleft_durban.gif" alt="eThekwini" /></td>
    <td background="../images/topBkgd.gif" align="center">
      <span class="topHeading">VALUATION ROLL GV 2022 - Market Value  (In terms of the Local Government Municipal Properties Rating Act No 6 of 2004)</span>
    </td>
    <td width="200" align="right"><img src="../images/ethekwini_topright_sunshine.gif" alt="Sunshine" /></td>
  </tr>
  <tr>
    <td colspan="3"><img src="../images/spacer.gif" height="1" width="1" alt="" /></td>
  </tr>
</table>
</body>
</html>
"""

_FOOTER_LINKS = (
    ("http://www.dataworld.co.za", "About This Site"),
    ("http://www.durban.gov.za/Pages/Copyright.aspx", "Copyright"),
    ("http://www.durban.gov.za/Pages/Disclaimer.aspx", "Disclaimer"),
    ("http://www.durban.gov.za/Pages/EmailDisclaimer.aspx", "E-mail Disclaimer"),
    ("http://www.durban.gov.za/Pages/PaymentOfAccounts.aspx", "Payment of Accounts"),
    ("http://www.durban.gov.za/Pages/PrivacyPolicy.aspx", "Privacy Policy"),
    ("http://www.durban.gov.za/Pages/ContactUs.aspx", "Contact Us"),
)
_FOOTER_CELLS = " | ".join(
    f'<a class="DbottomText" href="{href}" target="_top">{text}</a>' for href, text in _FOOTER_LINKS
)

FOOTER_ASPX = f"""{XHTML_DOCTYPE}

<html xmlns="http://www.w3.org/1999/xhtml">
<head><title>
\tFooter
</title>{THEME_LINK}</head>
<body>
<table width="100%" border="0" cellspacing="0" cellpadding="0">
  <tr>
    <td align="center" class="DbottomText">{_FOOTER_CELLS}</td>
  </tr>
</table>
</body>
</html>
"""

BLANK_HTM = """<html>
<head>
<title>Search</title>
</head>
<body>
<p>Enter the search criteria above and click <b>Search</b>. <a href="../HelpJavascript.htm">Help</a></p>
</body>
</html>
"""

# Stand-in for ASP.NET's WebUIValidation.js and WebForms.js, so a browser that loads
# SearchType.aspx finds the functions its markup calls.
WEB_RESOURCE_SCRIPT = """function WebForm_PostBackOptions(eventTarget, eventArgument, validation,
    validationGroup, actionUrl, trackFocus, clientSubmit) {
  this.eventTarget = eventTarget; this.validation = validation;
}
function WebForm_DoPostBackWithOptions(options) {
  if (options.validation && typeof(Page_ClientValidate) == "function") { Page_ClientValidate(); }
}
function Page_ClientValidate() {
  var select = document.getElementById("drpSearchType");
  var span = document.getElementById("RequiredFieldValidator1");
  var valid = select.value != "";
  span.style.display = valid ? "none" : "inline";
  Page_IsValid = valid;
  return valid;
}
var Page_IsValid = true;
function ValidatorOnSubmit() { return Page_IsValid; }
"""

THEME_CSS = """body { font-family: Arial; font-size: 8pt; }
.searchResultTable { border-collapse: collapse; }
.color0 { background-color: #ffffff; }
.color1 { background-color: #eef4e0; }
.HeaderMessage, .SearchResultRowHeader { font-weight: bold; }
"""
