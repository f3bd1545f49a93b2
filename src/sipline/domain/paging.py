"""Pagination rules shared by every list endpoint."""

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 25
# The highest page number: (MAX_PAGE - 1) * MAX_PAGE_SIZE stays under 2^31, so a row offset fits every
# database's integers (SQLite and PostgreSQL overflowed on 2^63) with room to spare.
MAX_PAGE = 10_000_000


@dataclass(frozen=True)
class PageRequest:
    current: int = 1
    size: int = DEFAULT_PAGE_SIZE

    @property
    def offset(self) -> int:
        return (self.current - 1) * self.size


@dataclass(frozen=True)
class Page(Generic[T]):
    records: list[T]
    total: int
    request: PageRequest

    @property
    def pages(self) -> int:
        return -(-self.total // self.request.size)
