"""Scrape eThekwini Municipality's General Valuation Roll into PostgreSQL and serve it."""

__version__ = "0.1.0"
