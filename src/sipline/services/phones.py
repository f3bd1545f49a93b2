"""Customer use cases for SIP phones: sipAdd, sipQuery and sipReset."""

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sipline.domain import ids
from sipline.domain.errors import ApiError, parameter_error
from sipline.domain.paging import Page, PageRequest
from sipline.domain.phones import NewPhoneGroup, PhoneView
from sipline.domain.status import Status
from sipline.services.auth import Caller
from sipline.services.unit_of_work import UnitOfWork
from sipline.store.models import App, Phone, PhoneGroup
from sipline.store.secretbox import SecretBox


class PhoneService:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], secrets: SecretBox) -> None:
        self._sessions = sessions
        self._secrets = secrets

    async def add_group(self, caller: Caller, app_id: str, group: NewPhoneGroup) -> None:
        """Create the group and all its phones, or nothing."""
        async with UnitOfWork(self._sessions) as uow:
            session = uow.session
            # Reserve capacity first: the conditional UPDATE holds the app's row lock until commit, so
            # concurrent sipAdd calls on one app queue here and the limit can never be overshot.
            reserved = await session.execute(
                update(App)
                .where(
                    App.app_id == app_id,
                    App.account_id == caller.account_id,
                    App.phone_count + group.quantity <= App.phone_limit,
                )
                .values(phone_count=App.phone_count + group.quantity)
                .returning(App.id)
            )
            app_pk = reserved.scalar()
            if app_pk is None:
                app = await _owned_app(session, caller, app_id)
                raise ApiError(
                    Status.LIMIT_REACHED,
                    f"the app has {app.phone_count} of {app.phone_limit} phones;"
                    f" {group.quantity} more do not fit",
                )
            await _refuse_taken_names(session, app_pk, group)
            group_row = PhoneGroup(app_pk=app_pk, name=group.group_name, display_num=group.display_num)
            session.add(group_row)
            await session.flush()
            accounts = await _free_accounts(session, group.quantity)
            now = datetime.now(UTC)
            session.add_all(
                Phone(
                    app_pk=app_pk,
                    group_id=group_row.id,
                    position=position,
                    name=phone_name,
                    account=account,
                    password_enc=self._secrets.encrypt(ids.new_sip_password()),
                    display_num=group.display_num,
                    created_at=now,
                    password_changed_at=now,
                )
                for position, (phone_name, account) in enumerate(
                    zip(group.phone_names(), accounts, strict=True), 1
                )
            )
            try:
                await uow.commit()
            except IntegrityError:
                # Only a concurrent call that created the same names gets here (the checks above saw none).
                raise ApiError(
                    Status.ALREADY_EXISTS, "groupName or phoneName already exists in this app"
                ) from None

    async def query(self, caller: Caller, app_id: str, page: PageRequest) -> Page[PhoneView]:
        async with self._sessions() as session:
            app = await _owned_app(session, caller, app_id)
            total = app.phone_count
            rows = (
                await session.execute(
                    select(PhoneGroup.name, Phone.name, Phone.account, Phone.password_enc, Phone.display_num)
                    .join(PhoneGroup, Phone.group_id == PhoneGroup.id)
                    .where(Phone.app_pk == app.id)
                    .order_by(Phone.group_id, Phone.position)
                    .offset(page.offset)
                    .limit(page.size)
                )
            ).all()
        records = [
            PhoneView(
                group_name=row[0],
                phone_name=row[1],
                account=row[2],
                password=self._secrets.decrypt(row[3]),
                display_num=row[4],
            )
            for row in rows
        ]
        return Page(records=records, total=total, request=page)

    async def reset_password(self, caller: Caller, app_id: str, account: str) -> str:
        password = ids.new_sip_password()
        async with UnitOfWork(self._sessions) as uow:
            app = await _owned_app(uow.session, caller, app_id)
            changed = await uow.session.execute(
                update(Phone)
                .where(Phone.app_pk == app.id, Phone.account == account)
                .values(password_enc=self._secrets.encrypt(password), password_changed_at=datetime.now(UTC))
                .returning(Phone.id)
            )
            if changed.scalar() is None:
                raise parameter_error(f"account {account!r} is not a phone of app {app_id}")
            await uow.commit()
        return password


async def _owned_app(session: AsyncSession, caller: Caller, app_id: str) -> App:
    app = await session.scalar(select(App).where(App.app_id == app_id, App.account_id == caller.account_id))
    if app is None:
        raise parameter_error(f"appId {app_id!r} is not an app of this account")
    return app


async def _refuse_taken_names(session: AsyncSession, app_pk: int, group: NewPhoneGroup) -> None:
    if await session.scalar(
        select(PhoneGroup.id).where(PhoneGroup.app_pk == app_pk, PhoneGroup.name == group.group_name)
    ):
        raise ApiError(Status.ALREADY_EXISTS, f"groupName {group.group_name!r} already exists in this app")
    taken = (
        await session.scalars(
            select(Phone.name).where(Phone.app_pk == app_pk, Phone.name.in_(group.phone_names())).limit(3)
        )
    ).all()
    if taken:
        raise ApiError(
            Status.ALREADY_EXISTS,
            f"phoneName {group.phone_name!r} clashes with existing phones: {', '.join(taken)}",
        )


async def _free_accounts(session: AsyncSession, count: int) -> list[str]:
    """Platform-unique SIP accounts; a clash with an existing one is redrawn."""
    chosen: set[str] = set()
    while len(chosen) < count:
        candidates = {ids.new_sip_account() for _ in range(count - len(chosen))} - chosen
        existing = set(
            (await session.scalars(select(Phone.account).where(Phone.account.in_(candidates)))).all()
        )
        chosen |= candidates - existing
    return sorted(chosen)
