"""Response models of the statistics routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from durban_valuations.site.models import Roll

_QUARTILES = (
    "Computed by PostgreSQL's percentile_cont, which interpolates between the two nearest "
    "values. Null when count is 0."
)


class MarketValueDistribution(BaseModel):
    """Distribution of the market values of a group of properties, in whole rands."""

    model_config = ConfigDict(from_attributes=True)

    count: int = Field(description="Properties with a market value.")
    missing: int = Field(description="Properties without a market value, left out of the rest.")
    min: int | None = Field(description="Lowest market value, null when count is 0.")
    q1: float | None = Field(description=f"First quartile (25th percentile). {_QUARTILES}")
    median: float | None = Field(description=f"Median (50th percentile). {_QUARTILES}")
    q3: float | None = Field(description=f"Third quartile (75th percentile). {_QUARTILES}")
    max: int | None = Field(description="Highest market value, null when count is 0.")
    mean: float | None = Field(description="Mean market value, null when count is 0.")


class ValuePerSquareMetreDistribution(BaseModel):
    """Distribution of market value per m² of registered extent, in rands per m²."""

    model_config = ConfigDict(from_attributes=True)

    count: int = Field(
        description="Properties with a market value and a registered extent above 0."
    )
    missing: int = Field(
        description="Properties without a market value or without an extent above 0 "
        "(most sectional titles), left out of the rest."
    )
    min: float | None = Field(description="Lowest value per m², null when count is 0.")
    q1: float | None = Field(description=f"First quartile (25th percentile). {_QUARTILES}")
    median: float | None = Field(description=f"Median (50th percentile). {_QUARTILES}")
    q3: float | None = Field(description=f"Third quartile (75th percentile). {_QUARTILES}")
    max: float | None = Field(description="Highest value per m², null when count is 0.")
    mean: float | None = Field(description="Mean value per m², null when count is 0.")


class GroupStatistics(BaseModel):
    """Counts and distributions of one group of properties."""

    model_config = ConfigDict(from_attributes=True)

    property_count: int = Field(description="Properties in the group, with or without values.")
    without_extent: int = Field(
        description="Properties whose registered extent is missing or not above 0."
    )
    market_value: MarketValueDistribution
    value_per_m2: ValuePerSquareMetreDistribution = Field(
        description="Market value divided by registered extent, where the extent is above 0."
    )


class CategoryStatistics(GroupStatistics):
    """Statistics of the properties of one rating category."""

    rating_category: str | None = Field(
        description="Rating category as stored, null for properties without one."
    )


class UseCodeStatistics(GroupStatistics):
    """Statistics of the properties of one use code."""

    use_code_number: int | None = Field(
        description="Use code number, as the use_code filter of /properties takes it. Null "
        "when the roll printed none."
    )
    use_code_description: str | None = Field(
        description="Use code description, for example 'Vacant Land'."
    )


class RollStatistics(GroupStatistics):
    """Statistics of one roll, in total and broken down by rating category and use code."""

    roll: Roll = Field(description="full (full-title properties) or sectional (sectional titles).")
    by_rating_category: list[CategoryStatistics] = Field(
        description="One item per rating category, by name. Properties without one come last."
    )
    by_use_code: list[UseCodeStatistics] = Field(
        description="One item per use code number and description, by number. Properties "
        "without a number come last."
    )


class StatisticsRun(BaseModel):
    """The scrape run that the statistics follow."""

    id: int = Field(description="Id of the run, which GET /runs/{run_id} shows.")
    finished_at: datetime | None = Field(description="When the run finished.")


class Statistics(BaseModel):
    """Market value statistics of the roll year, or of one suburb, per roll."""

    roll_year: int = Field(description="Year of the General Valuation Roll.")
    suburb: str | None = Field(description="Suburb name as requested, null for the whole roll.")
    run: StatisticsRun | None = Field(
        description="Last complete, non-suspect run of the roll year when the statistics "
        "were computed. They stay cached until a newer complete run is recorded. Null when "
        "no run has completed: then every request recomputes them."
    )
    computed_at: datetime = Field(description="When the statistics were computed.")
    rolls: list[RollStatistics] = Field(
        description="One item per roll, full first, or only the requested roll when roll is set."
    )
