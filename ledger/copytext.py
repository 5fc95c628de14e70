"""COPY's text format written by hand (``ledger.bulk``, ``ledger.bookload``): for rows that are mostly
integers and hex digests, joining text is far cheaper than psycopg's ``write_row``, which adapts value
by value."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

NULL = "\\N"
LINES_PER_WRITE = 5000


def field(value: str | None) -> str:
    """``value`` as a field of COPY's text format: NULL, or backslash, tab, newline and carriage return
    escaped."""
    if value is None:
        return NULL
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        value = value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


def number(value: int | None) -> str:
    return NULL if value is None else str(int(value))


def write_lines(cursor, statement: str, lines: Iterator[str]) -> None:
    """Send ``lines`` (each ending in a newline) to ``COPY … FROM STDIN``, a few thousand at a time."""
    with cursor.copy(statement) as copy:
        while chunk := "".join(islice(lines, LINES_PER_WRITE)):
            copy.write(chunk)
