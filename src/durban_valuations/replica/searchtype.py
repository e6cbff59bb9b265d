"""SearchType.aspx, the roll chooser, and its ASP.NET postback."""

# The markup keeps the site's own long lines, so line length is not checked here.
# ruff: noqa: E501

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from durban_valuations.replica.aspnet import ValueCollection
from durban_valuations.replica.errors import invalid_postback_argument, invalid_viewstate

# LosFormatter bytes of the page's state: the format marker FF 01, a Pair of a Pair holding the
# page hash "507446394" (the live page logged exactly this), then two nulls ("d" = 0x64).
VIEWSTATE_PAYLOAD = b"\xff\x01\x0f\x0f\x05\x09507446394dd"
EVENT_VALIDATION_PAYLOAD = b"\xff\x01\x1d\x00\x04"
VIEWSTATE_GENERATOR = "0E5F2D5C"
MAC_LENGTH = 32
ROLL_TARGETS = {"1": "/FramePages/Search.aspx", "2": "/FramePages/Search2.aspx"}
ROLL_OPTIONS = (("", ""), ("1", "Full Title Property"), ("2", "Sectional Title Property"))


@dataclass(frozen=True, slots=True)
class SearchTypeOutcome:
    """Outcome of a SearchType request: a page to render or a redirect target."""

    redirect_to: str | None = None
    selected: str = ""
    show_validator: bool = False


def _sign(payload: bytes, key: bytes) -> str:
    mac = hmac.new(key, payload + VIEWSTATE_GENERATOR.encode("ascii"), hashlib.sha256).digest()
    return base64.b64encode(payload + mac).decode("ascii")


def _event_validation_payload() -> bytes:
    hashes = b"".join(
        hashlib.sha256(f"drpSearchType{value}".encode()).digest()[:8] for value, _ in ROLL_OPTIONS
    )
    return EVENT_VALIDATION_PAYLOAD + hashes + hashlib.sha256(b"btnGo").digest()[:8]


def make_viewstate(key: bytes) -> str:
    """Return the page's `__VIEWSTATE`: the LosFormatter bytes plus an HMAC-SHA256, base64."""
    return _sign(VIEWSTATE_PAYLOAD, key)


def make_event_validation(key: bytes) -> str:
    """Return the page's `__EVENTVALIDATION`: hashes of the valid posted values, signed."""
    return _sign(_event_validation_payload(), key)


def _verify(encoded: str, key: bytes) -> bool:
    try:
        raw = base64.b64decode(encoded, validate=True)
    except ValueError:
        return False
    if len(raw) <= MAC_LENGTH or not raw.startswith(b"\xff\x01"):
        return False
    return hmac.compare_digest(_sign(raw[:-MAC_LENGTH], key), encoded)


def handle_postback(form: ValueCollection, key: bytes) -> SearchTypeOutcome:
    """Process a POST the way the page's code-behind does.

    A POST without `__VIEWSTATE` and `__EVENTTARGET` is not a postback and re-renders the page.
    A tampered `__VIEWSTATE`, a missing or tampered `__EVENTVALIDATION`, or a roll value the page
    never rendered raise the ASP.NET errors. A click (`btnGo` posted, or `__EVENTTARGET=btnGo`)
    with roll 1 or 2 redirects; with an empty roll it shows the validator message.
    """
    viewstate = form.get("__VIEWSTATE")
    event_target = form.get("__EVENTTARGET")
    selected = form.get("drpSearchType")
    if viewstate is None and event_target is None:
        return SearchTypeOutcome(selected=selected or "")
    if viewstate is not None and not _verify(viewstate, key):
        raise invalid_viewstate()
    if selected is not None:
        event_validation = form.get("__EVENTVALIDATION")
        if event_validation is None or not _verify(event_validation, key):
            raise invalid_postback_argument()
        if selected not in {value for value, _ in ROLL_OPTIONS}:
            raise invalid_postback_argument()
    clicked = form.get("btnGo") is not None or event_target == "btnGo"
    if not clicked:
        return SearchTypeOutcome(selected=selected or "")
    if not selected:
        return SearchTypeOutcome(show_validator=True)
    return SearchTypeOutcome(redirect_to=ROLL_TARGETS[selected], selected=selected)


def render_object_moved(location: str) -> str:
    """Render the body ASP.NET sends with `Response.Redirect`."""
    return (
        f"<html><head><title>Object moved</title></head><body>\r\n"
        f'<h2>Object moved to <a href="{location}">here</a>.</h2>\r\n'
        "</body></html>\r\n"
    )


def render_search_type(outcome: SearchTypeOutcome, key: bytes) -> str:
    """Render SearchType.aspx with the hidden fields, the roll select, Go and the validator."""
    selected_attribute = ' selected="selected"'
    options = "\n".join(
        f"\t<option{selected_attribute if value == outcome.selected else ''} "
        f'value="{value}">{text}</option>'
        for value, text in ROLL_OPTIONS
    )
    display = "inline" if outcome.show_validator else "none"
    return f"""
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">

<html xmlns="http://www.w3.org/1999/xhtml">
<head id="Head1"><title>
\tSearch Type
</title><link href="../App_Themes/Default/Default.css" type="text/css" rel="stylesheet" /></head>
<body>
    <form name="form1" method="post" action="SearchType.aspx" onsubmit="javascript:return WebForm_OnSubmit();" id="form1">
<div>
<input type="hidden" name="__VIEWSTATE" id="__VIEWSTATE" value="{make_viewstate(key)}" />
</div>

<script src="/WebResource.axd?d=x2nkrMJGXkMELz33nwnakBfb8dcnL3lS2s1P5nmIjH1&amp;t=638250708203127189" type="text/javascript"></script>

<script type="text/javascript">
//<![CDATA[
function WebForm_OnSubmit() {{
if (typeof(ValidatorOnSubmit) == "function" && ValidatorOnSubmit() == false) return false;
return true;
}}
//]]>
</script>

<div>
\t<input type="hidden" name="__VIEWSTATEGENERATOR" id="__VIEWSTATEGENERATOR" value="{VIEWSTATE_GENERATOR}" />
\t<input type="hidden" name="__EVENTVALIDATION" id="__EVENTVALIDATION" value="{make_event_validation(key)}" />
</div>
       <table id="3DTable1"  cellspacing="0" cellpadding="0" width="100%" border="0">
        <tr>
             <td class="FormH" width="60%">Search Value Assist - Property </td>
         </tr>
  <tr>
        <td class="SearchBlank" colspan="2"></td>
        </tr>
 <tr>
  <td align="center">
<table width="100%" border="0" cellpadding="0" cellspacing="0">
<tr class="searchContentRowStyle">
<td class="widowRowCaptionSearch2 PaddingLeftSearch" width="80px">Valuation Roll</td>
 <td class="windowRowContentSearch PaddingLeftSearch" width="100px" align="left">
    <select name="drpSearchType" id="drpSearchType" style="font-family:Arial;font-size:8pt;width:150px;">
{options}

</select>
</td>
<td width="100px" align="left">
<input type="submit" name="btnGo" value="Go" onclick="javascript:WebForm_DoPostBackWithOptions(new WebForm_PostBackOptions(&quot;btnGo&quot;, &quot;&quot;, true, &quot;&quot;, &quot;&quot;, false, false))" id="btnGo" accesskey="s" title="Click" class="button" style="cursor:hand;" />
</td>
<td>&nbsp;</td>
</tr>
<tr class="searchContentRowStyle PaddingLeftSearch">
    <td colspan="4" align="left">
        <span id="RequiredFieldValidator1" style="color:Red;font-family:Arial;font-size:8pt;display:{display};">Please select valuation roll</span>
  </td>
</tr>
</table>
</td>
</tr>
<tr>
<td align="left" >
<br /><br />
<div id="Message" class="homeMessage">
<b style="color:Red;">Use either Rate Number / Physical Address/Cadastral Description Only to search the valuations </b>
<br />
<br />
This site represents the market valuation of your property as at 2 July 2021.
<br />
This will come into effect on 1 July 2022.
<br />
<br />
<table border="1" cellpadding="3" cellspacing="0" style="visibility:visible">
\t<tr>
\t\t<td>1.</td>
\t\t<td>Property Register and Market Valuations :</td>
\t\t<td><b>11 February 2022</b></td>
\t</tr>
\t<tr>
\t\t<td>2.</td>
\t\t<td>Ownership Information :</td>
\t\t<td><b>11 February 2022</b></td>
\t</tr>
</table>
</div>
</td>
</tr>
</table>
<br />
<td><p style="color:red;font-size:15px;"><b> For more information on the General Valuation Click here:</b> <a href="http://www.durban.gov.za/Online_Tools/vroll/Pages/faq.aspx" target= "_blank" > www.durban.gov.za/Online_Tools/vroll/Pages/faq.aspx </a>
</p>
</td>
<br />
<td> The valuation roll will be open for public inspection from <b style="color:red;font-size:15px;"> 11 February 2022 to 16 May 2022</b></td>

<script type="text/javascript">
//<![CDATA[
var Page_Validators =  new Array(document.getElementById("RequiredFieldValidator1"));
//]]>
</script>
</form>
    <noscript>
        <b class="homeMessage" style="color:Red;"><b>Note:</b> JavaScript is turned off in your web browser. Please Turn it on to take full advantage of this site, then refresh the page.</b>
</noscript>
</body>
</html>
"""  # noqa: S608 - HTML markup that contains the word "select", not SQL
