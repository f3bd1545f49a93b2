"""One page of a query's rows and the count of them all (every list endpoint pages the same way)."""

from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sipline.domain.paging import Page, PageRequest

T = TypeVar("T")


async def fetch_page(
    session: AsyncSession, statement: Select[Any], order: tuple[Any, ...], page: PageRequest
) -> Page[T]:
    """The rows of ``statement`` on ``page`` in ``order``, with the total of every page."""
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = (await session.scalars(statement.order_by(*order).offset(page.offset).limit(page.size))).all()
    return Page(records=list(rows), total=int(total or 0), request=page)
