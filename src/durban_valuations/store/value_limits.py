"""Ranges of the PostgreSQL types that request values are compared with.

A value outside its column's type makes PostgreSQL raise an error for the whole
statement, so the API checks these ranges before it builds a query.
Limits from the PostgreSQL manual, chapter Data Types: Numeric Types and Character Types.
"""

from __future__ import annotations

from decimal import Decimal

INTEGER_MAX = 2**31 - 1
INTEGER_MIN = -(2**31)
BIGINT_MAX = 2**63 - 1
BIGINT_MIN = -(2**63)
# An unconstrained `numeric` holds up to 131072 digits before the decimal point
# and up to 16383 after it.
NUMERIC_MAX_INTEGER_DIGITS = 131072
NUMERIC_MAX_FRACTION_DIGITS = 16383
NUL = "\x00"


def fits_integer(value: int) -> bool:
    """Return whether `value` fits a PostgreSQL `integer` (int4) column."""
    return INTEGER_MIN <= value <= INTEGER_MAX


def fits_bigint(value: int) -> bool:
    """Return whether `value` fits a PostgreSQL `bigint` (int8) column."""
    return BIGINT_MIN <= value <= BIGINT_MAX


def fits_numeric(value: Decimal) -> bool:
    """Return whether `value` is finite and fits an unconstrained PostgreSQL `numeric`."""
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int):  # NaN or infinity: the exponent is a letter code
        return False
    integer_digits_ok = value.adjusted() < NUMERIC_MAX_INTEGER_DIGITS
    return integer_digits_ok and -exponent <= NUMERIC_MAX_FRACTION_DIGITS


def fits_text(value: str) -> bool:
    """Return whether `value` can be a PostgreSQL text value, which never contains NUL."""
    return NUL not in value
