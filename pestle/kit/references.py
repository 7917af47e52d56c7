"""Rows a request body names by one of several identifiers (`{"id": ...}`, `{"npi": ...}`)."""

from collections.abc import Awaitable, Callable
from typing import TypeVar

from pestle.exceptions import PestleError, UnknownReference

T = TypeVar("T")


async def find_named(
    find: Callable[[str], Awaitable[T]],
    field: str,
    value: str,
    identifier_of: Callable[[T], str | None],
) -> T:
    """The row ``find`` returns for ``value``, which must also be the row's identifier of the
    kind the body sent (``find`` accepts several kinds); otherwise, or when ``find`` refuses,
    a 422 naming ``field``."""
    try:
        found = await find(value)
    except PestleError:
        raise UnknownReference(field, value) from None
    if identifier_of(found) != value:
        raise UnknownReference(field, value)
    return found
