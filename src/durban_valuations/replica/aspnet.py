"""ASP.NET request handling the site relies on: query parsing and request validation (.NET 4)."""

from __future__ import annotations

from urllib.parse import unquote_plus

# Default `requestPathInvalidCharacters` of .NET 4: a decoded path with one of these gets HTTP 400.
INVALID_PATH_CHARACTERS = "<>*%&:\\?"
# Request validation quotes at most this many characters of the rejected value.
QUOTED_VALUE_LENGTH = 20


class ValueCollection:
    """An `HttpValueCollection`: keys in first-seen order, looked up case-insensitively.

    Repeated keys share one entry whose value is the values joined with `,`. A query segment
    without `=` is a value under the null key (None).
    """

    def __init__(self, pairs: list[tuple[str | None, str]]) -> None:
        self.pairs = pairs
        self._keys: list[str | None] = []
        self._values: dict[str | None, list[str]] = {}
        for key, value in pairs:
            folded = key.casefold() if key is not None else None
            if folded not in self._values:
                self._keys.append(key)
                self._values[folded] = []
            self._values[folded].append(value)

    def __len__(self) -> int:
        return len(self._keys)

    def get(self, key: str | None) -> str | None:
        """Return the value of `key` (repeats joined with `,`), or None when the key is missing."""
        folded = key.casefold() if key is not None else None
        values = self._values.get(folded)
        return ",".join(values) if values is not None else None

    def get_at(self, index: int) -> str:
        """Return the value of the entry at `index`, as `NameValueCollection.Get(int)` does.

        Raises IndexError when there are fewer entries.
        """
        key = self._keys[index]
        return ",".join(self._values[key.casefold() if key is not None else None])

    def keys(self) -> list[str | None]:
        """Return the keys in first-seen order, the null key as None."""
        return list(self._keys)


def url_decode(text: str) -> str:
    """Decode like `HttpUtility.UrlDecode`: `+` is a space, `%xx` bytes are UTF-8.

    NOTE: ASP.NET also decodes the non-standard `%uXXXX` form; this replica leaves it as text.
    """
    return unquote_plus(text, encoding="utf-8", errors="replace")


def parse_query(raw: str) -> ValueCollection:
    """Parse a raw query string or form body as `HttpValueCollection.FillFromString` does.

    Segments split on `&`, and the first `=` of a segment splits name from value. A segment
    without `=` (also an empty one) adds its text under the null key, and so does a trailing `&`.
    """
    pairs: list[tuple[str | None, str]] = []
    length = len(raw)
    index = 0
    while index < length:
        start = index
        equals = -1
        while index < length:
            character = raw[index]
            if character == "=":
                if equals < 0:
                    equals = index
            elif character == "&":
                break
            index += 1
        if equals >= 0:
            pairs.append((url_decode(raw[start:equals]), url_decode(raw[equals + 1 : index])))
        else:
            pairs.append((None, url_decode(raw[start:index])))
        if index == length - 1 and raw[index] == "&":
            pairs.append((None, ""))
        index += 1
    return ValueCollection(pairs)


def is_dangerous_string(value: str) -> bool:
    """Return True for what .NET request validation rejects.

    That is `<` followed by a letter, `!`, `/` or `?`, and `&` followed by `#`.
    """
    start = 0
    while True:
        position = min(
            (found for found in (value.find("<", start), value.find("&", start)) if found >= 0),
            default=-1,
        )
        if position < 0 or position == len(value) - 1:
            return False
        following = value[position + 1]
        if value[position] == "<" and (
            (following.isascii() and following.isalpha()) or following in "!/?"
        ):
            return True
        if value[position] == "&" and following == "#":
            return True
        start = position + 1


def find_dangerous_value(collection: ValueCollection) -> tuple[str, str] | None:
    """Return the first (key, value) that request validation rejects, or None.

    Keys starting with `__` (the page's hidden fields) are not checked, as in .NET 4.5.
    """
    for key, value in collection.pairs:
        if key is not None and key.startswith("__"):
            continue
        if is_dangerous_string(value):
            return key or "", value
    return None


def quote_rejected_value(value: str) -> str:
    """Shorten a rejected value the way the validation message quotes it."""
    if len(value) > QUOTED_VALUE_LENGTH:
        return value[:QUOTED_VALUE_LENGTH] + "..."
    return value


def find_invalid_path_character(path: str) -> str | None:
    """Return the first character of the decoded path that .NET rejects, or None."""
    for character in path:
        if character in INVALID_PATH_CHARACTERS:
            return character
    return None
