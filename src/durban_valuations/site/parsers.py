"""The site's page parsers: pure functions from page text to the models in `site.models`.

Each parser first runs `check_page`, so a firewall page, an ASP.NET error page or a
truncated page raises its typed error instead of parsing as an empty page.
"""

from __future__ import annotations

from durban_valuations.site.page_checks import check_page
from durban_valuations.site.parse_criteria import parse_criteria_page
from durban_valuations.site.parse_details import parse_details_page
from durban_valuations.site.parse_results import parse_result_page

__all__ = ["check_page", "parse_criteria_page", "parse_details_page", "parse_result_page"]
