"""SQLAlchemy models: the platform's tables. Schema changes go through Alembic migrations."""

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from sipline.store.types import Money, UtcDateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Account(Base):
    """A customer: API credentials, state, prepaid balance and quote currency."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key: Mapped[str] = mapped_column(String(64), unique=True)
    api_secret_enc: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(String(128), default="")
    locked: Mapped[bool] = mapped_column(default=False)
    # Space-separated addresses/CIDR networks; empty admits every address.
    ip_allowlist: Mapped[str] = mapped_column(Text, default="")
    balance: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    # Customer-side exchange rate: 1 USD = quote_exchange units of `currency` (None for USD).
    quote_exchange: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    @property
    def allowlist(self) -> list[str]:
        return self.ip_allowlist.split()


class App(Base):
    """A voice application of an account; phones belong to an app."""

    __tablename__ = "apps"

    id: Mapped[int] = mapped_column(primary_key=True)
    app_id: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    phone_limit: Mapped[int] = mapped_column(Integer)
    # Kept in step with the phones table so that a conditional UPDATE enforces the limit atomically.
    phone_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class PhoneGroup(Base):
    __tablename__ = "phone_groups"
    __table_args__ = (UniqueConstraint("app_pk", "name", name="uq_phone_groups_app_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    app_pk: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    display_num: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Phone(Base):
    """One SIP phone: the account and (encrypted) password a desk phone registers with."""

    __tablename__ = "phones"
    __table_args__ = (
        UniqueConstraint("app_pk", "name", name="uq_phones_app_name"),
        Index("ix_phones_app_order", "app_pk", "group_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    app_pk: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("phone_groups.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    account: Mapped[str] = mapped_column(String(32), unique=True)
    password_enc: Mapped[str] = mapped_column(Text)
    display_num: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class LedgerEntry(Base):
    """Every change of a balance, with the balance it left."""

    __tablename__ = "ledger_entries"
    # The ledger query and the daily spend read an account's rows by time.
    __table_args__ = (Index("ix_ledger_entries_account_time", "account_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(Money)
    balance_after: Mapped[Decimal] = mapped_column(Money)
    reference: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class DirectoryVersion(Base):
    """One row, bumped by every write to accounts, apps or phones (see services/directory.py)."""

    __tablename__ = "directory_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class SipBinding(Base):
    """A registered contact of a phone, persisted so that registrations survive a restart."""

    __tablename__ = "sip_bindings"
    __table_args__ = (UniqueConstraint("account", "contact", name="uq_sip_bindings_account_contact"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(32), index=True)
    contact: Mapped[str] = mapped_column(String(512))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    call_id: Mapped[str] = mapped_column(String(256))
    cseq: Mapped[int] = mapped_column(BigInteger)
    q: Mapped[float | None] = mapped_column(nullable=True)
    transport: Mapped[str] = mapped_column(String(8))
    source_host: Mapped[str] = mapped_column(String(64))
    source_port: Mapped[int] = mapped_column(Integer)
    local_host: Mapped[str] = mapped_column(String(64))
    local_port: Mapped[int] = mapped_column(Integer)
    user_agent: Mapped[str | None] = mapped_column(String(256), nullable=True)


class CallRecord(Base):
    """One click-to-call: what was asked (sendSip), what SIP said, and what it cost."""

    __tablename__ = "call_records"
    __table_args__ = (
        # Every records query orders by (submit_time, voice_id) within an account (migration 0013).
        Index("ix_call_records_account_submit_voice", "account_id", "submit_time", "voice_id"),
        Index("ix_call_records_open", "node", "hangup_time"),
        Index("ix_call_records_recording_file", "recording_file_id", unique=True),
        Index("ix_call_records_recording_age", "recording_status", "recording_started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    voice_id: Mapped[str] = mapped_column(String(19), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    app_pk: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    group_name: Mapped[str] = mapped_column(String(64))
    phone_name: Mapped[str] = mapped_column(String(64))
    phone_account: Mapped[str] = mapped_column(String(32))
    callee: Mapped[str] = mapped_column(String(32))
    display_num: Mapped[str] = mapped_column(String(16))
    called_info: Mapped[str] = mapped_column(Text, default="")
    code: Mapped[str] = mapped_column(String(128), default="")
    submit_time: Mapped[datetime] = mapped_column(UtcDateTime)
    call_time: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    ringing_time: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    answer_time: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    hangup_time: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    call_duration: Mapped[int] = mapped_column(Integer, default=0)
    charged_duration: Mapped[int] = mapped_column(Integer, default=0)
    termination_code: Mapped[str | None] = mapped_column(String(8), nullable=True)
    termination_reason: Mapped[str | None] = mapped_column(String(256), nullable=True)
    bill_period: Mapped[str | None] = mapped_column(String(16), nullable=True)
    rate: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    cost: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    base_cost: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    quote_exchange: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    settle_rate: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    settle_pay: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    recording_file_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    feedback_value: Mapped[str] = mapped_column(String(64), default="-1")
    # Held from the balance at sendSip (the first billing period), given back when the call is settled.
    reserved: Mapped[Decimal] = mapped_column(Money, default=Decimal(0), server_default="0")
    base_rate: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    # The rate's connect fee (billing/rating.py), fixed at acceptance with the rate; None: none.
    connect_fee: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    # The node placing the call: at its restart it closes its own calls that were cut off.
    node: Mapped[str] = mapped_column(String(64), default="", server_default="")
    # The last moment the call was known to be up (a SIP event, the node's heartbeat, media later):
    # a node restarted after a crash charges the call up to here.
    last_activity: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The call's recording (services/recordings.py): its state (domain/recordings.py), when it began,
    # and the mp3 once encoded (path relative to recording_dir, size, length).
    recording_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    recording_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    recording_path: Mapped[str | None] = mapped_column(String(256), nullable=True)
    recording_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    recording_millis: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    recording_error: Mapped[str | None] = mapped_column(String(256), nullable=True)
    # How the call was placed (domain/call_origin.py): api (sendSip), handset, phone_to_phone.
    origin: Mapped[str] = mapped_column(String(16), default="api", server_default="api")


class CallDialog(Base):
    """One leg's SIP dialog of a call in progress, kept so that a node restarted after a crash can
    send it BYE (sip/stored_dialog.py). Deleted when the call is settled."""

    __tablename__ = "call_dialogs"

    voice_id: Mapped[str] = mapped_column(
        String(19), ForeignKey("call_records.voice_id", ondelete="CASCADE"), primary_key=True
    )
    leg: Mapped[str] = mapped_column(String(8), primary_key=True)  # "phone" or "callee"
    call_id: Mapped[str] = mapped_column(String(256))
    local_uri: Mapped[str] = mapped_column(Text)  # From of our requests, with our tag
    remote_uri: Mapped[str] = mapped_column(Text)  # To of our requests, with the peer's tag
    remote_target: Mapped[str] = mapped_column(Text)
    route_set: Mapped[str] = mapped_column(Text, default="")  # JSON list of Route values
    local_contact: Mapped[str] = mapped_column(Text, default="")
    local_cseq: Mapped[int] = mapped_column(BigInteger)
    transport: Mapped[str] = mapped_column(String(8))
    remote_host: Mapped[str] = mapped_column(String(64))
    remote_port: Mapped[int] = mapped_column(Integer)
    local_host: Mapped[str] = mapped_column(String(64))
    local_port: Mapped[int] = mapped_column(Integer)
    alternate_target: Mapped[str | None] = mapped_column(
        Text, nullable=True
    )  # the phone's registered contact


class RateDeckRow(Base):
    """One imported version of a rate deck (billing/decks.py): the platform's (account_id None) or an
    account's, in effect from ``effective_from``. Never changed once written; its id orders imports."""

    __tablename__ = "rate_decks"
    __table_args__ = (Index("ix_rate_decks_owner_effective", "account_id", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True
    )
    effective_from: Mapped[datetime] = mapped_column(UtcDateTime)
    lines: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class RateDeckLine(Base):
    """One prefix of a deck version and its rate."""

    __tablename__ = "rate_deck_lines"

    deck_id: Mapped[int] = mapped_column(ForeignKey("rate_decks.id", ondelete="CASCADE"), primary_key=True)
    prefix: Mapped[str] = mapped_column(String(32), primary_key=True)
    destination: Mapped[str] = mapped_column(String(128), default="")
    rate: Mapped[Decimal] = mapped_column(Money)
    base_rate: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    bill_period: Mapped[str] = mapped_column(String(16))
    connect_fee: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))


class AccountLimit(Base):
    """An account's fraud limits, set by the operator (billing/limits.py); no row: no limits."""

    __tablename__ = "account_limits"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    max_concurrent: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_cps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    daily_cap: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    # Space-separated digit prefixes: calls to a denied one are refused; with allowed ones, only those.
    deny_prefixes: Mapped[str] = mapped_column(Text, default="", server_default="")
    allow_prefixes: Mapped[str] = mapped_column(Text, default="", server_default="")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ConsoleUser(Base):
    """A person who signs in to the web console: an operator, or a customer of one account."""

    __tablename__ = "console_users"
    __table_args__ = (
        CheckConstraint(
            "(operator AND account_id IS NULL) OR (NOT operator AND account_id IS NOT NULL)",
            name="ck_console_users_role",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))  # argon2id, with its parameters and salt
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True
    )
    operator: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)  # None: the browser's
    time_zone: Mapped[str | None] = mapped_column(String(64), nullable=True)  # IANA name; None: UTC


class ConsoleSession(Base):
    """A signed-in browser. Only the SHA-256 of the cookie's token is kept, so a copy of the database
    signs nobody in."""

    __tablename__ = "console_sessions"
    __table_args__ = (
        Index("ix_console_sessions_user", "user_id"),
        Index("ix_console_sessions_expires", "expires_at"),
    )

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("console_users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AppPush(Base):
    """An app's status report push (events/): where reports go, the signing secret(s), which events.

    Secrets are ``whsec_`` Standard Webhooks secrets, encrypted at rest like API secrets. After a
    rotation the previous secret signs beside the new one until ``previous_expires_at``.
    """

    __tablename__ = "app_push"

    app_pk: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    secret_enc: Mapped[str] = mapped_column(Text)
    previous_secret_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    previous_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The events pushed: the final report (the vendor's one per call) and the opt-in extensions.
    send_report: Mapped[bool] = mapped_column(default=True)
    send_ringing: Mapped[bool] = mapped_column(default=False)
    send_answered: Mapped[bool] = mapped_column(default=False)
    # Set when the endpoint answered 410 Gone: nothing is sent until set-push enables it again.
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(256), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class PushOutbox(Base):
    """One event to push (events/outbox.py): written with what it reports, delivered at least once.

    ``state``: pending, delivering (claimed until ``next_attempt_at``, the lease), delivered, failed
    (every try used; replayable) or disabled (its endpoint answered 410).
    """

    __tablename__ = "push_outbox"
    __table_args__ = (
        Index("ix_push_outbox_due", "state", "next_attempt_at"),
        Index("ix_push_outbox_app", "app_pk", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)  # webhook-id, the idempotency key
    app_pk: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    voice_id: Mapped[str] = mapped_column(String(19))
    sequence: Mapped[int] = mapped_column(Integer)
    event_type: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)  # the JSON sent, byte for byte the same on every try
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The report waits for the call's recording until here (push_recording_wait), then goes anyway.
    hold_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(256), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class PushAttempt(Base):
    """One try of a push event (the delivery log): when, what the endpoint answered, how long it took."""

    __tablename__ = "push_attempts"
    __table_args__ = (Index("ix_push_attempts_app", "app_pk", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("push_outbox.id", ondelete="CASCADE"), index=True)
    app_pk: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(64))
    attempt: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: no HTTP answer
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(256), nullable=True)
