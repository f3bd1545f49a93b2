"""Call records written straight to the database, as a node that crashed mid-call leaves them."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sipline.store.models import Account, App, CallRecord


async def add_open_record(session: AsyncSession, api_key: str, app_id: str, **fields: Any) -> None:
    """A record of the account's app, never ended (``fields``: its times, terms, node ...), committed."""
    account_id = await session.scalar(select(Account.id).where(Account.api_key == api_key))
    app_pk = await session.scalar(select(App.id).where(App.app_id == app_id))
    assert account_id is not None and app_pk is not None
    values: dict[str, Any] = {
        "group_name": "deskGroup",
        "phone_name": "desk-1",
        "phone_account": "1234567890",
        "callee": "93302123456",
        "display_num": "1008122211",
        "node": "sipline",
    }
    session.add(CallRecord(account_id=account_id, app_pk=app_pk, **(values | fields)))
    await session.commit()
