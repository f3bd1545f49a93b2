"""Customer use cases for SIP phones: sipAdd, sipQuery, sipReset and sipDelete; the console's views."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sipline.domain import ids
from sipline.domain.errors import ApiError, parameter_error
from sipline.domain.paging import Page, PageRequest
from sipline.domain.phones import NewPhoneGroup
from sipline.domain.status import Status
from sipline.services.auth import Caller
from sipline.services.directory import Directory, bump_version
from sipline.services.unit_of_work import UnitOfWork
from sipline.sip.bindings import Binding
from sipline.store.models import App, Phone, PhoneGroup
from sipline.store.secretbox import SecretBox


class Registrations(Protocol):
    def latest(self, account: str, now: datetime) -> Binding | None: ...

    def remove_all_bindings(self, account: str) -> None: ...


@dataclass(frozen=True)
class Registration:
    contact: str
    user_agent: str | None
    expires_at: datetime


@dataclass(frozen=True)
class PhoneView:
    """A phone as the console shows it (no password: that is revealed on request)."""

    group_name: str
    name: str
    account: str
    display_num: str
    registration: Registration | None  # the freshest live binding, if any


def registration_of(binding: Binding | None) -> Registration | None:
    if binding is None:
        return None
    return Registration(binding.contact, binding.user_agent, binding.expires_at)


class PhoneService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        secrets: SecretBox,
        directory: Directory,
        registrations: Registrations,
    ) -> None:
        self._sessions = sessions
        self._secrets = secrets
        self._directory = directory
        self._registrations = registrations

    async def add_group(self, caller: Caller, app_id: str, group: NewPhoneGroup) -> None:
        """Create the group and all its phones, or nothing."""
        async with UnitOfWork(self._sessions) as uow:
            session = uow.session
            app_pk = await _reserve_capacity(session, caller, app_id, group.quantity)
            await _refuse_taken_names(session, app_pk, group)
            group_row = PhoneGroup(app_pk=app_pk, name=group.group_name, display_num=group.display_num)
            session.add(group_row)
            await session.flush()
            accounts = await _free_accounts(session, group.quantity)
            now = datetime.now(UTC)
            names_and_accounts = zip(group.phone_names(), accounts, strict=True)
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
                for position, (phone_name, account) in enumerate(names_and_accounts, 1)
            )
            version = await bump_version(session)
            try:
                await uow.commit()
            except IntegrityError:
                # Only a concurrent call that created the same names gets here (the checks above saw none).
                raise ApiError(
                    Status.ALREADY_EXISTS, "groupName or phoneName already exists in this app"
                ) from None
        self._directory.invalidate_app(app_id)
        self._directory.own_change(version)

    async def query(self, caller: Caller, app_id: str, page: PageRequest) -> Page[dict[str, Any]]:
        """A page of the app's phones as wire records (from the in-memory directory)."""
        phones = await self._directory.app_phones(app_id)
        if phones is None or phones.account_id != caller.account_id:
            raise _not_owned(app_id)
        now = datetime.now(UTC)
        latest = self._registrations.latest
        records = []
        for record in phones.records[page.offset : page.offset + page.size]:
            binding = latest(record["account"], now)
            # Most phones in a page are usually not registered: their cached record is sent as is.
            records.append(record if binding is None else record | _registered(binding))
        return Page(records=records, total=len(phones.records), request=page)

    async def reset_password(self, caller: Caller, app_id: str, account: str) -> str:
        password = ids.new_sip_password()
        async with UnitOfWork(self._sessions) as uow:
            app_pk = await _owned_app(uow.session, caller, app_id)
            changed = await uow.session.execute(
                update(Phone)
                .where(Phone.app_pk == app_pk, Phone.account == account)
                .values(password_enc=self._secrets.encrypt(password), password_changed_at=datetime.now(UTC))
                .returning(Phone.id)
            )
            if changed.scalar() is None:
                raise _not_a_phone(account, app_id)
            version = await bump_version(uow.session)
            await uow.commit()
        self._directory.invalidate_app(app_id)
        self._directory.own_change(version)
        return password

    async def phones(self, caller: Caller, app_id: str) -> list[PhoneView]:
        """The app's phones in display order (group, position), each with its live registration."""
        async with self._sessions() as session:
            app_pk = await _owned_app(session, caller, app_id)
            rows = (
                await session.execute(
                    select(PhoneGroup.name, Phone.name, Phone.account, Phone.display_num)
                    .join(PhoneGroup, Phone.group_id == PhoneGroup.id)
                    .where(Phone.app_pk == app_pk)
                    .order_by(Phone.group_id, Phone.position)
                )
            ).all()
        return [
            PhoneView(group, name, account, display_num, self.registration(account))
            for group, name, account, display_num in rows
        ]

    def registration(self, account: str) -> Registration | None:
        return registration_of(self._registrations.latest(account, datetime.now(UTC)))

    async def password(self, caller: Caller, app_id: str, account: str) -> str:
        """The phone's SIP password (decrypted), for the caller's own phone only."""
        async with self._sessions() as session:
            app_pk = await _owned_app(session, caller, app_id)
            encrypted = await session.scalar(
                select(Phone.password_enc).where(Phone.app_pk == app_pk, Phone.account == account)
            )
        if encrypted is None:
            raise _not_a_phone(account, app_id)
        return self._secrets.decrypt(encrypted)

    async def delete_phone(self, caller: Caller, app_id: str, account: str) -> None:
        """sipDelete: remove the phone, free its place in the app's limit, drop its registrations."""
        async with UnitOfWork(self._sessions) as uow:
            app_pk = await _owned_app(uow.session, caller, app_id)
            deleted = await uow.session.execute(
                delete(Phone).where(Phone.app_pk == app_pk, Phone.account == account).returning(Phone.id)
            )
            if deleted.scalar() is None:
                raise _not_a_phone(account, app_id)
            await uow.session.execute(
                update(App).where(App.id == app_pk).values(phone_count=App.phone_count - 1)
            )
            version = await bump_version(uow.session)
            await uow.commit()
        self._directory.invalidate_app(app_id)
        self._directory.own_change(version)
        self._registrations.remove_all_bindings(account)  # it can no longer be called, nor register


async def _owned_app(session: AsyncSession, caller: Caller, app_id: str) -> int:
    app_pk = await session.scalar(
        select(App.id).where(App.app_id == app_id, App.account_id == caller.account_id)
    )
    if app_pk is None:
        raise _not_owned(app_id)
    return app_pk


def _not_a_phone(account: str, app_id: str) -> ApiError:
    return parameter_error(f"account {account!r} is not a phone of app {app_id}")


async def _reserve_capacity(session: AsyncSession, caller: Caller, app_id: str, quantity: int) -> int:
    """Count the new phones against the app's limit; the app's primary key.

    Done first: the conditional UPDATE holds the app's row lock until commit, so concurrent sipAdd
    calls on one app queue here and the limit can never be overshot.
    """
    reserved = await session.execute(
        update(App)
        .where(
            App.app_id == app_id,
            App.account_id == caller.account_id,
            App.phone_count + quantity <= App.phone_limit,
        )
        .values(phone_count=App.phone_count + quantity)
        .returning(App.id)
    )
    app_pk = reserved.scalar()
    if app_pk is not None:
        return app_pk
    app = await session.scalar(select(App).where(App.app_id == app_id, App.account_id == caller.account_id))
    if app is None:
        raise _not_owned(app_id)
    raise ApiError(
        Status.LIMIT_REACHED,
        f"the app has {app.phone_count} of {app.phone_limit} phones; {quantity} more do not fit",
    )


def _not_owned(app_id: str) -> ApiError:
    return parameter_error(f"appId {app_id!r} is not an app of this account")


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


def _registered(binding: Binding) -> dict[str, Any]:
    """The registration state sipQuery shows for a phone with a live binding."""
    return {
        "registered": True,
        "registrationExpires": binding.expires_at.isoformat(timespec="seconds"),
        "userAgent": binding.user_agent,
    }
