"""Parse the option lists of the two criteria pages."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser, LexborNode

from durban_valuations.site.errors import LayoutChangedError
from durban_valuations.site.models import CriteriaOptions, Option, Roll
from durban_valuations.site.page_checks import check_page, decode_page

VOLUME_SELECT = "drpVolumeNo"
SUBURB_SELECT = "drpSuburb"
DEEDS_TOWN_SELECT = "drpDeedsTown"
SCHEME_SELECT = "drpScheme"


def _matches_control(select: LexborNode, control: str) -> bool:
    """Return True when the select's id or name is the control's id or ends with it.

    Today the site renders `id="drpSuburb"`. A reworked version of the site, not deployed,
    renders `name="ctl00$ContentPlaceHolder1$drpSuburb" id="ContentPlaceHolder1_drpSuburb"`.
    """
    element_id = select.attributes.get("id") or ""
    name = select.attributes.get("name") or ""
    return (
        element_id == control
        or element_id.endswith(f"_{control}")
        or name == control
        or name.endswith(f"${control}")
    )


def find_select(tree: LexborHTMLParser, control: str) -> LexborNode | None:
    """Return the first `<select>` of the control, or None when the page has none."""
    for select in tree.css("select"):
        if _matches_control(select, control):
            return select
    return None


def read_options(select: LexborNode) -> list[Option]:
    """Return the select's options in page order, leaving out placeholders (value "").

    An option without a value attribute submits its text, as in a browser. Texts keep inner
    spaces and lose outer whitespace, and the parser decodes entities such as `&amp;`.
    """
    options = []
    for node in select.css("option"):
        text = node.text().strip()
        value = node.attributes.get("value")
        if value is None:
            value = text
        if value == "":
            continue
        options.append(Option(value=value, text=text))
    return options


def _require_options(
    tree: LexborHTMLParser, control: str, roll: Roll, url: str | None
) -> list[Option]:
    select = find_select(tree, control)
    if select is None:
        raise LayoutChangedError(
            f"the {roll.value} criteria page has no select {control!r}", url=url
        )
    return read_options(select)


def parse_criteria_page(html: str | bytes, roll: Roll, url: str | None = None) -> CriteriaOptions:
    """Parse the volume, suburb and roll-specific option lists of a criteria page.

    The full title page has a deeds town list and the sectional page a scheme list. Every
    scheme option has value "1" because the site's script sends the option text as
    `SchemeName`, so callers must search with `Option.text`.

    Raises:
        LayoutChangedError: a select that the page always has is missing, or the page is
            truncated.
        BlockedError, ServerError: the page is the firewall page or an ASP.NET error page.
    """
    text = decode_page(html)
    check_page(text, url)
    tree = LexborHTMLParser(text)

    suburbs = _require_options(tree, SUBURB_SELECT, roll, url)
    volumes = _require_options(tree, VOLUME_SELECT, roll, url)
    if roll is Roll.FULL:
        deeds_towns = _require_options(tree, DEEDS_TOWN_SELECT, roll, url)
        return CriteriaOptions(roll=roll, volumes=volumes, suburbs=suburbs, deeds_towns=deeds_towns)

    schemes = _require_options(tree, SCHEME_SELECT, roll, url)
    return CriteriaOptions(roll=roll, volumes=volumes, suburbs=suburbs, schemes=schemes)
