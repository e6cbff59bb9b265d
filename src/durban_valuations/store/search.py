"""Full-text search over properties: the query, its rank and the check of its text.

`properties.search_vector` (see `store.tables.SEARCH_VECTOR`) is searched with
PostgreSQL's websearch_to_tsquery, so the text takes the syntax of web search forms:
words must all match, "quoted words" must match as a phrase, `or` between words
matches either, and a leading `-` excludes a word. Words match whole, ignoring case.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, func, literal_column, select

from durban_valuations.store.tables import SEARCH_CONFIG, properties

_CONFIG: ColumnElement[str] = literal_column(f"'{SEARCH_CONFIG}'::regconfig")


class InvalidSearchError(ValueError):
    """Search text that contains no word to search for."""


def search_query(search_text: str) -> ColumnElement[str]:
    """Return the tsquery of `search_text`."""
    return func.websearch_to_tsquery(_CONFIG, search_text)


def matches_search(search_text: str) -> ColumnElement[bool]:
    """Return the condition "the property matches `search_text`"; the GIN index serves it."""
    return properties.c.search_vector.bool_op("@@")(search_query(search_text))


def search_rank(search_text: str) -> ColumnElement[float]:
    """Return the relevance of a property to `search_text`: ts_rank, higher is better.

    ts_rank counts how often the words match. Its default weights count a match in
    the address or scheme name (weight A) 1.0, in the owners (B) 0.4 and in the legal
    description (C) 0.2. ts_rank_cd would also reward words that stand close together,
    but it took twice as long to rank the 60,000 matches of a common word among
    100,000 properties, and a quoted phrase already requires adjacent words.
    """
    return func.ts_rank(properties.c.search_vector, search_query(search_text))


def check_search_text(connection: Connection, search_text: str) -> None:
    """Raise InvalidSearchError when `search_text` contains no word to search for.

    PostgreSQL's parser decides what a word is, so the database checks the text. Text of
    only spaces and punctuation gives an empty query, which would match nothing.
    """
    nodes = connection.execute(select(func.numnode(search_query(search_text)))).scalar_one()
    if nodes == 0:
        raise InvalidSearchError(
            f"invalid q {search_text!r}: it contains no word to search for; "
            "expected at least one word or number, for example q=main road"
        )
