"""Response models of the API; each field's description lands in the OpenAPI spec."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from durban_valuations.site.models import Roll

_EXTENT = "Registered extent in square metres, as a JSON number; null when the roll prints none."


class Owner(BaseModel):
    """One owner of a property, in the order the site lists them."""

    position: int = Field(description="1 for the first owner listed, then 2, 3 and so on.")
    name: str = Field(description="Owner name as printed.")


class Details(BaseModel):
    """Fields of the property's details page, as printed; null where the page left them blank."""

    government_code: str | None
    exemptions: str | None
    rebates: str | None
    phasing_in: str | None
    exclusions: str | None
    sra_code: str | None = Field(description="Special rating area code.")
    property_type: str | None
    scheme_number: str | None
    erf: str | None
    deeds_town: str | None
    fetched_at: datetime = Field(description="When the details page was fetched.")


class PropertySummary(BaseModel):
    """One property of the roll, with the cleaned fields of its result row."""

    model_config = ConfigDict(from_attributes=True)

    roll_year: int = Field(description="Year of the General Valuation Roll.")
    roll: Roll = Field(description="full (full-title properties) or sectional (sectional titles).")
    pin: int = Field(description="The site's property id, unique within a roll year.")
    rate_number: str = Field(description="Municipal rate number, 8 digits.")
    legal_description: str
    address: str
    street_number: str | None
    street_name: str | None
    suburb: str | None
    first_owner: str | None = Field(description="First owner as the result row prints it.")
    use_code: str | None = Field(description="Use code as printed, for example 'Vacant Land (47)'.")
    use_code_description: str | None
    use_code_number: int | None
    rating_category: str | None
    market_value: int | None = Field(description="Market value in whole rands.")
    registered_extent: float | None = Field(description=_EXTENT)
    erf: str | None
    portion: str | None
    is_remainder: bool = Field(description="True when the property is the remainder of an erf.")
    deeds_town: str | None
    section_number: str | None = Field(description="Section number in a sectional scheme.")
    scheme_name: str | None = Field(description="Sectional scheme name.")


class PropertyDetail(PropertySummary):
    """One property with its printed result row, owners and details page."""

    ptype: str
    ftype: str
    details_href: str = Field(description="Link to the property's details page on the site.")
    raw_rate_number: str
    raw_legal_description: str
    raw_address: str
    raw_first_owner: str
    raw_use_code: str
    raw_rating_category: str
    raw_market_value: str
    raw_registered_extent: str
    owners: list[Owner]
    details: Details | None = Field(description="Null until the details page is fetched.")
    first_seen_run_id: int = Field(description="Scrape run that first stored this property.")
    last_seen_run_id: int = Field(description="Latest scrape run that saw this property.")
    created_at: datetime
    updated_at: datetime = Field(description="When a scrape last changed the stored fields.")


class RateNumberProperties(BaseModel):
    """Every property with one rate number; one per roll at most."""

    rate_number: str
    properties: list[PropertyDetail]


class PropertyPage(BaseModel):
    """One page of properties."""

    items: list[PropertySummary]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )
    limit: int = Field(description="Maximum number of items per page that this request used.")


class Suburb(BaseModel):
    """One suburb with its property count and median market value."""

    name: str
    property_count: int
    median_market_value: int | None = Field(
        description="Median market value in whole rands (rounded); null when no property has one."
    )


class Health(BaseModel):
    """Liveness of the service process (GET /ready checks the database)."""

    status: str = Field(description="'ok' when the service process responds.")


class Error(BaseModel):
    """An RFC 9457 problem details object: the body of every 4xx and 5xx response.

    Sent with the media type application/problem+json.
    """

    type: str = Field(
        default="about:blank",
        description="'about:blank': the problem is what the HTTP status code says, and "
        "`title` is its reason phrase.",
    )
    title: str = Field(description="HTTP reason phrase of the status, for example 'Not Found'.")
    status: int = Field(description="HTTP status code, repeated.")
    detail: str = Field(description="What failed, the value involved and what to do.")
    instance: str = Field(description="Path of the request that failed.")
    parameter: str | None = Field(
        default=None, description="Request parameter that caused the error, or null."
    )
