"""One page of a query's rows and the count of them all (every list endpoint pages the same way)."""

from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from sipline.domain.paging import Page, PageRequest

T = TypeVar("T")


async def fetch_page(
    session: AsyncSession,
    statement: Select[Any],
    order: tuple[Any, ...],
    page: PageRequest,
    key: InstrumentedAttribute[Any] | None = None,
) -> Page[T]:
    """The rows of ``statement`` on ``page`` in ``order``, with the total of every page.

    With ``key`` (a unique column that an index in ``order`` covers), the page's keys are found first
    and then their rows: the rows skipped by the offset are walked in the index alone, not each read
    from the table (call records: a page 30,000 deep took 27 ms of query on PostgreSQL, this way 7;
    bench/console).
    """
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    if key is None:
        paged = statement.order_by(*order).offset(page.offset).limit(page.size)
    else:
        keys = statement.with_only_columns(key).order_by(*order).offset(page.offset).limit(page.size)
        paged = select(key.class_).where(key.in_(keys)).order_by(*order)
    rows = (await session.scalars(paged)).all()
    return Page(records=list(rows), total=int(total or 0), request=page)
