"""Parse the property profile of `SearchDeatils.aspx`.

The profile is a grid of caption/value pairs: a `td.widowRowCaption` followed by a
`td.tdContaint`. The owners are the rows after the "Name" header inside `div#divOwnsers`
(the site's own spelling).
"""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser, LexborNode

from durban_valuations.site.errors import LayoutChangedError
from durban_valuations.site.models import PropertyDetails, Roll
from durban_valuations.site.page_checks import check_page, decode_page

PROFILE_CAPTIONS = (
    "Rate Number",
    "Property Description",
    "Address",
    "Registered Extent (m²)",
    "Market Value",
)
COMMON_DETAIL_CAPTIONS = (
    "Use Code",
    "Rating Category",
    "Government Code",
    "Exemptions",
    "Rebates",
    "Phasing In",
    "Exclusions",
    "SRA Code",
)
FULL_TITLE_CAPTIONS = ("ERF Number", "Deeds Township/ Farm", "Property Type")
SECTIONAL_CAPTIONS = ("Section Number", "Scheme Name", "Scheme Number")


def _normalise_caption(text: str) -> str:
    caption = " ".join(text.split())
    # Matched by prefix so that a page decoded with the wrong charset, which garbles the
    # "m²", still yields the extent.
    if caption.startswith("Registered Extent"):
        return "Registered Extent (m²)"
    return caption


def _next_element(node: LexborNode) -> LexborNode | None:
    """Return the next sibling that is an element, skipping text nodes."""
    sibling = node.next
    while sibling is not None and sibling.tag in ("-text", "-comment"):
        sibling = sibling.next
    return sibling


def read_captioned_values(tree: LexborHTMLParser) -> dict[str, str]:
    """Return the text of each caption's value cell. The first occurrence of a caption wins."""
    values: dict[str, str] = {}
    for caption in tree.css("td.widowRowCaption"):
        value_cell = _next_element(caption)
        if value_cell is None or "tdContaint" not in (value_cell.attributes.get("class") or ""):
            continue
        name = _normalise_caption(caption.text())
        if name and name not in values:
            values[name] = value_cell.text().strip()
    return values


def read_owners(tree: LexborHTMLParser, url: str | None) -> list[str]:
    """Return the owner names in page order. The "Name" header is a caption cell, not a name."""
    owners_div = tree.css_first("div#divOwnsers")
    if owners_div is None:
        raise LayoutChangedError("the property profile has no owners section", url=url)
    return [cell.text().strip() for cell in owners_div.css("td.tdContaint")]


def _require(values: dict[str, str], captions: tuple[str, ...], url: str | None) -> None:
    missing = [caption for caption in captions if caption not in values]
    if missing:
        raise LayoutChangedError(f"the property profile lacks the captions {missing}", url=url)


def parse_details_page(html: str | bytes, url: str | None = None) -> PropertyDetails:
    """Parse a property profile into its printed values and owner names.

    The roll is sectional when the "Section Number" caption is present, as the site renders
    a different details table for each roll.

    Raises:
        LayoutChangedError: the profile, a caption of the roll's details table or the owners
            section is missing, or the page is truncated.
        BlockedError, ServerError: the page is the firewall page or an ASP.NET error page.
    """
    text = decode_page(html)
    check_page(text, url)

    tree = LexborHTMLParser(text)
    values = read_captioned_values(tree)
    if "Rate Number" not in values:
        raise LayoutChangedError("the page has no property profile", url=url)

    roll = Roll.SECTIONAL if "Section Number" in values else Roll.FULL
    roll_captions = SECTIONAL_CAPTIONS if roll is Roll.SECTIONAL else FULL_TITLE_CAPTIONS
    _require(values, PROFILE_CAPTIONS + COMMON_DETAIL_CAPTIONS + roll_captions, url)
    owners = read_owners(tree, url)

    return PropertyDetails(
        roll=roll,
        rate_number=values["Rate Number"],
        property_description=values["Property Description"],
        address=values["Address"],
        registered_extent=values["Registered Extent (m²)"],
        market_value=values["Market Value"],
        use_code=values["Use Code"],
        rating_category=values["Rating Category"],
        government_code=values["Government Code"],
        exemptions=values["Exemptions"],
        rebates=values["Rebates"],
        phasing_in=values["Phasing In"],
        exclusions=values["Exclusions"],
        sra_code=values["SRA Code"],
        owners=owners,
        erf=values.get("ERF Number", ""),
        deeds_town=values.get("Deeds Township/ Farm", ""),
        property_type=values.get("Property Type", ""),
        section_number=values.get("Section Number", ""),
        scheme_name=values.get("Scheme Name", ""),
        scheme_number=values.get("Scheme Number", ""),
    )
