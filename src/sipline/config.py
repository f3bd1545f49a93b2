"""Configuration: command-line options over `SIPLINE_*` environment variables over a TOML file over defaults.

Every setting is documented in docs/configuration.md.
"""

import ipaddress
import json
import os
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from sipline.billing.rating import BillingPeriod, Rate, RateDeck
from sipline.domain.dial_plan import DialPlan
from sipline.domain.trunks import CallerIdMode, Trunk, parse_trunk_uri

SANDBOX_TRUNK = "sandbox"


# Standard Webhooks' schedule: right away, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h.
MIN_TRUNK_PING_INTERVAL = 5  # seconds between OPTIONS pings at the oftenest
PUSH_RETRY_SCHEDULE = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 50400.0, 72000.0, 86400.0)


def _listed(value: object) -> list[object]:
    """A list setting as TOML (a list), or the environment ("a,b" or a JSON list), gives it."""
    if isinstance(value, str):
        if value.lstrip().startswith("["):
            try:
                loaded = json.loads(value)
            except ValueError:
                raise ValueError("is not a JSON list") from None
            return list(loaded) if isinstance(loaded, list) else [loaded]
        return [part for part in value.split(",") if part.strip()]
    if isinstance(value, list | tuple):
        return list(value)
    raise ValueError("is not a list")


class ConfigError(Exception):
    """The configuration cannot be used; the message says which setting and why."""


class TrunkSetting(BaseModel):
    """One outbound trunk as a TOML table (or write it as one URI string, see domain/trunks.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str
    port: int = 5060
    transport: str = "udp"
    username: str | None = None
    password: str | None = Field(None, repr=False)
    realm: str | None = None
    prefix: str = ""
    strip: int = 0
    caller_id: CallerIdMode = CallerIdMode.FROM
    domain: str | None = None

    def trunk(self, name: str) -> Trunk:
        return Trunk(name=name, **self.model_dump())


class DialPlanSetting(BaseModel):
    """How numbers dialled on a handset are read (domain/dial_plan.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    country_code: str = Field(
        "", max_length=4, description="Default country for national numbers ('' refuses them)."
    )
    national_prefix: str = Field(
        "0", max_length=4, description="Trunk prefix of national numbers ('' if none)."
    )
    international_prefixes: tuple[str, ...] = Field(
        ("00",), max_length=4, description="Exit codes read like '+' (beside '+')."
    )

    @model_validator(mode="after")
    def _valid(self) -> "DialPlanSetting":
        self.plan()  # digits only, no empty exit code: a ValueError names the field
        return self

    def plan(self) -> DialPlan:
        return DialPlan(self.country_code, self.national_prefix, self.international_prefixes)


class RateSetting(BaseModel):
    """One line of the rate deck: destination prefix, USD per minute, billing period."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prefix: str = ""
    rate: Decimal
    period: str = "60+60"
    base_rate: Decimal | None = None
    connect_fee: Decimal = Field(Decimal(0), ge=0)

    def to_rate(self) -> Rate:
        return Rate(
            self.prefix, self.rate, BillingPeriod.parse(self.period), self.base_rate, self.connect_fee
        )


DEFAULT_RATES = (RateSetting(prefix="", rate=Decimal("0.0100"), period="60+60"),)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SIPLINE_", extra="forbid", frozen=True)

    host: str = Field("127.0.0.1", description="Address the HTTP API and SIP listen on.")
    http_port: int = Field(8080, ge=0, le=65535, description="HTTP API port (0: any free port).")
    sip_port: int = Field(5060, ge=0, le=65535, description="SIP port, UDP and TCP.")
    data_dir: Path = Field(Path("sipline-data"), description="Database, keys and recordings live here.")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; default SQLite in the data directory. postgresql://... for PostgreSQL.",
    )
    secret_key: str | None = Field(
        None, description="Base64 of 32 bytes encrypting secrets at rest; default a key file in the data dir."
    )
    admin_token: str | None = Field(
        None, description="Bearer token of the admin API; default a token file in the data directory."
    )
    timestamp_window: int = Field(
        300, ge=1, description="Accepted clock skew of the Timestamp header, seconds."
    )
    max_body_bytes: int = Field(65536, ge=1024, description="Largest accepted HTTP request body.")
    default_phone_limit: int = Field(1000, ge=1, description="Phones per app unless the app says otherwise.")
    directory_poll_interval: float = Field(
        0.5,
        gt=0,
        description="Seconds between checks for changes made by other processes (admin CLI, other nodes).",
    )
    sip_domain: str = Field("sipline.local", description="SIP domain of the phones; also the digest realm.")
    sip_tls_port: int | None = Field(
        None, ge=0, le=65535, description="SIP over TLS port (needs a certificate)."
    )
    sip_tls_certificate: Path | None = Field(None, description="PEM certificate (chain) for SIP over TLS.")
    sip_tls_private_key: Path | None = Field(None, description="PEM private key for SIP over TLS.")
    sip_min_expires: int = Field(60, ge=1, description="Shortest registration accepted (423 below).")
    sip_max_expires: int = Field(3600, ge=1, description="Longest registration granted.")
    binding_flush_interval: float = Field(1.0, gt=0, description="Seconds between writes of registrations.")
    digest_algorithms: Annotated[tuple[str, ...], NoDecode] = Field(
        ("MD5",),  # sip.digest.DEFAULT_CHALLENGE_ALGORITHMS (not imported: it would load the SIP stack)
        description="Digest algorithms the SIP challenges offer, in order (MD5, SHA-256).",
    )
    sip_max_connections: int | None = Field(
        None,
        ge=1,
        le=1_000_000,
        description="Inbound SIP TCP/TLS connections at most; default from the open-file limit.",
    )
    sip_max_connections_per_address: int = Field(
        64, ge=1, le=100_000, description="Inbound SIP TCP/TLS connections at most from one address."
    )
    sip_tcp_idle_timeout: float = Field(
        120, ge=0.1, le=86_400, description="Seconds a SIP TCP/TLS connection may stay silent (unregistered)."
    )
    sip_tcp_handshake_timeout: float = Field(
        20, ge=0.1, le=3600, description="Seconds a new SIP TCP/TLS connection may stay silent."
    )
    http_max_connections: int = Field(
        256, ge=1, le=100_000, description="HTTP connections and requests at once (503 beyond)."
    )
    listen_backlog: int = Field(1024, ge=1, le=65_535, description="Listen backlog of the TCP listeners.")
    record_retention_days: int = Field(
        180, ge=1, description="Call records older than this are not queryable (-25)."
    )
    log_level: str = Field("INFO", description="Python logging level.")
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines as text, or as one JSON object a line."
    )
    access_log: bool = Field(False, description="Log one line per HTTP request (method, path, status, time).")
    metrics_enabled: bool = Field(True, description="Serve Prometheus metrics at GET /metrics.")
    metrics_token: str | None = Field(
        None,
        min_length=16,
        repr=False,
        description="Bearer token /metrics requires; unset: /metrics answers loopback clients only.",
    )
    trunks: dict[str, TrunkSetting | str] = Field(
        default_factory=dict,
        description="Outbound trunks by name: TOML tables, or URIs sip:user:pass@host:port;transport=...",
    )
    default_trunk: str = Field(
        SANDBOX_TRUNK, description="Trunk for apps without their own; 'sandbox' is the built-in carrier."
    )
    app_trunks: dict[str, str] = Field(default_factory=dict, description="appId -> trunk name.")
    sandbox_port: int = Field(
        0, ge=0, le=65535, description="UDP/TCP port of the built-in sandbox carrier (0: any free port)."
    )
    trunk_ping_interval: float = Field(
        30,
        ge=0,
        le=3600,
        description="Seconds between the OPTIONS pings of each trunk (reachability), 5-3600; 0: no pings.",
    )
    trunk_ping_timeout: float = Field(
        5, ge=1, le=32, description="Seconds a trunk has to answer an OPTIONS ping before it failed."
    )
    trunk_down_after: int = Field(
        3, ge=1, le=100, description="OPTIONS pings failed in a row after which a trunk is shown down."
    )
    health_sample_interval: float = Field(
        10, ge=1, le=3600, description="Seconds between samples of the console health page's charts."
    )
    health_sample_history: int = Field(
        360, ge=2, le=100_000, description="Samples the health page's charts keep (in memory, this node)."
    )
    phone_ring_timeout: float = Field(
        30, gt=0, description="Seconds the agent's phone may ring before the call is cancelled."
    )
    callee_ring_timeout: float = Field(
        60,
        ge=20,
        le=120,
        description="Seconds the callee may ring before it is cancelled (like the vendor's maxRingingTime).",
    )
    dial_plan: DialPlanSetting = Field(
        default_factory=DialPlanSetting, description="Dial plan of handset calls (apps without their own)."
    )
    app_dial_plans: dict[str, DialPlanSetting] = Field(
        default_factory=dict, description="appId -> its own dial plan for handset calls."
    )
    on_net_rate: Decimal = Field(
        Decimal(0),
        ge=0,
        le=1000,
        decimal_places=4,
        description="USD per minute of a call from one phone to another of the same app.",
    )
    node_name: str = Field(
        "sipline",
        min_length=1,
        max_length=64,
        description="Names this node's calls; nodes sharing a database need distinct names.",
    )
    max_call_duration: int = Field(3600, ge=1, description="Seconds after which an answered call is cut.")
    call_activity_interval: float = Field(
        5.0,
        ge=0.1,
        le=60,
        description="Seconds between writes that answered calls are up (a crash charges up to the last one).",
    )
    reservation_chunk: int = Field(
        10, ge=1, le=600, description="Seconds of talk each extension of a call's reservation pays ahead."
    )
    reservation_lead: float = Field(
        3.0,
        ge=0.5,
        le=60,
        description="Seconds before a call's reserved money runs out that more is reserved.",
    )
    recording_dir: Path | None = Field(
        None,
        description="mp3s in dated folders, and spool/ for calls in progress; default data_dir/recordings.",
    )
    record_calls: bool = Field(
        True,
        description="Record every answered call (off: none is, recordingFileId stays null).",
    )
    recording_retention_days: int = Field(
        180, ge=0, le=36_500, description="Recordings older than this are deleted (0: kept forever)."
    )
    recording_url_ttl: int = Field(
        3600, ge=10, le=604_800, description="Seconds a getRecordingFileUrl link stays valid."
    )
    rates: tuple[RateSetting, ...] = Field(
        DEFAULT_RATES, description="Rate deck (longest prefix wins; prefix '' matches every number)."
    )
    rate_deck_max_lines: int = Field(
        1_000_000, ge=1, le=10_000_000, description="Most lines a rate deck import may have."
    )
    rate_deck_max_bytes: int = Field(
        64 * 1024 * 1024,
        ge=1024,
        le=1024 * 1024 * 1024,
        description="Largest rate deck CSV the admin API accepts (its own body limit).",
    )
    rtp_port_min: int = Field(
        20000, ge=1024, le=65535, description="First port of the RTP range the media relay binds on host."
    )
    rtp_port_max: int = Field(
        29999, ge=1025, le=65535, description="Last port of the RTP range (RTP even, RTCP the next odd one)."
    )
    media_timeout: float = Field(
        60, ge=5, le=3600, description="Seconds without RTP from either leg after which a call is ended."
    )
    media_address: str | None = Field(
        None,
        description="Address the RTP relay names in SDP (default: host); needed when host is 0.0.0.0.",
    )
    console_session_ttl: int = Field(
        43_200, ge=300, le=2_592_000, description="Seconds a console sign-in lasts (docs/console.md)."
    )
    console_login_attempts_per_user: int = Field(
        5, ge=1, le=1000, description="Failed console sign-ins per e-mail within console_login_window."
    )
    console_login_attempts_per_source: int = Field(
        20, ge=1, le=100_000, description="Failed console sign-ins per client address within the window."
    )
    console_login_window: int = Field(
        900, ge=10, le=86_400, description="Seconds over which failed console sign-ins are counted."
    )
    console_trust_forwarded_proto: bool = Field(
        False, description="Take X-Forwarded-Proto: https from a TLS proxy as TLS (Secure cookies)."
    )

    push_timeout: float = Field(
        15, ge=1, le=120, description="Seconds a status report push request may take (then it is retried)."
    )
    push_retry_schedule: Annotated[tuple[float, ...], NoDecode] = Field(
        PUSH_RETRY_SCHEDULE,
        description="Seconds before each try of a push (the first is after 0); jittered; then failed.",
    )
    push_retry_after_max: float = Field(
        3600, ge=0, le=86_400, description="Longest Retry-After (429/503) a push endpoint is obeyed for."
    )
    push_recording_wait: float = Field(
        30, ge=0, le=3600, description="Seconds a call's report waits for its recording to be encoded."
    )
    push_allowed_networks: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="CIDR networks push URLs may resolve to beside public addresses (e.g. 127.0.0.0/8)."
    )
    push_batch: int = Field(200, ge=1, le=5000, description="Push events claimed at once by a worker.")
    push_concurrency: int = Field(100, ge=1, le=2000, description="Push requests in flight at once per node.")
    push_poll_interval: float = Field(
        0.5, ge=0.01, le=60, description="Seconds between looks at the push outbox when idle."
    )

    @field_validator("trunk_ping_interval")
    @classmethod
    def _ping_interval(cls, value: float) -> float:
        if 0 < value < MIN_TRUNK_PING_INTERVAL:  # oftener would be a flood to the carrier
            raise ValueError(f"must be 0 (no pings) or {MIN_TRUNK_PING_INTERVAL}-3600 seconds")
        return value

    @field_validator("push_retry_schedule", mode="before")
    @classmethod
    def _push_retry_schedule(cls, value: object) -> tuple[float, ...]:
        items = _listed(value)
        try:
            delays = tuple(float(str(item)) for item in items)
        except (TypeError, ValueError):
            raise ValueError("is not a list of seconds") from None
        if not 1 <= len(delays) <= 30 or any(not 0 <= delay <= 7 * 86_400 for delay in delays):
            raise ValueError("needs 1 to 30 delays, each 0 to 604800 seconds")
        return delays

    @field_validator("push_allowed_networks", mode="before")
    @classmethod
    def _push_allowed_networks(cls, value: object) -> tuple[str, ...]:
        networks = tuple(str(item).strip() for item in _listed(value) if str(item).strip())
        for network in networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"{network!r} is not a CIDR network") from None
        if len(networks) > 100:
            raise ValueError("at most 100 networks")
        return networks

    media_batch_ms: float = Field(
        0.5,
        ge=0,
        le=5,
        description="Under media load, the relay's loop turns are kept this far apart, so one wake-up "
        "reads many packets (0: off).",
    )
    media_batch_min_pps: int = Field(
        5000,
        ge=0,
        le=10_000_000,
        description="RTP packets relayed per second from which media_batch_ms applies "
        "(0: whenever a call is up).",
    )

    @field_validator("digest_algorithms", mode="before")
    @classmethod
    def _digest_algorithms(cls, value: object) -> tuple[str, ...]:
        from sipline.sip.digest import challenge_algorithms  # only when the setting is given

        # the environment gives "MD5,SHA-256" or a JSON list; TOML gives a list
        if isinstance(value, str) and value.lstrip().startswith("["):
            try:
                value = json.loads(value)
            except ValueError:
                raise ValueError("is not a JSON list of digest algorithms") from None
        return challenge_algorithms(value)

    @field_validator("media_address")
    @classmethod
    def _media_address(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise ValueError("is not an IP address") from None
        return value

    @model_validator(mode="after")
    def _calls_configured(self) -> "Settings":
        table = self.trunk_table()  # raises ValueError naming the bad trunk
        for name in {self.default_trunk, *self.app_trunks.values()}:
            if name != SANDBOX_TRUNK and name not in table:
                raise ValueError(f"trunk {name!r} is used but not defined in trunks")
        self.rate_deck()
        if self.rtp_port_max - self.rtp_port_min < 3:
            raise ValueError("rtp_port_max must be at least rtp_port_min + 3 (one call needs two port pairs)")
        return self

    def trunk_table(self) -> dict[str, Trunk]:
        return {
            name: parse_trunk_uri(name, value) if isinstance(value, str) else value.trunk(name)
            for name, value in self.trunks.items()
        }

    def dial_plans(self) -> tuple[DialPlan, dict[str, DialPlan]]:
        """The default dial plan and each app's own."""
        return self.dial_plan.plan(), {app: setting.plan() for app, setting in self.app_dial_plans.items()}

    def rate_deck(self) -> RateDeck:
        return RateDeck([setting.to_rate() for setting in self.rates])

    @property
    def rtp_sockets(self) -> int:
        """The media relay's descriptors with every pair of its range in a call: one per port."""
        return self.rtp_port_max - self.rtp_port_min + 1

    @property
    def uses_sandbox(self) -> bool:
        return SANDBOX_TRUNK in {self.default_trunk, *self.app_trunks.values()}

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir.resolve() / 'sipline.db'}"

    @property
    def effective_recording_dir(self) -> Path:
        return self.recording_dir or self.data_dir / "recordings"

    @property
    def recording_spool(self) -> Path:
        """Where recordings of calls in progress are written (and found again after a crash)."""
        return self.effective_recording_dir / "spool"

    @property
    def secret_key_file(self) -> Path:
        return self.data_dir / "secret.key"

    @property
    def admin_token_file(self) -> Path:
        return self.data_dir / "admin.token"


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings; `overrides` are command-line values (None means not given)."""
    file_values: dict[str, Any] = {}
    if config_file is not None:
        try:
            file_values = tomllib.loads(config_file.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {config_file}: {exc}") from None
        file_values = file_values.get("sipline", file_values)
    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        # Environment beats the file: pydantic-settings reads the environment only for fields not passed in,
        # so the file's values are dropped where an environment variable is set.
        env_set = {name for name in Settings.model_fields if _env_name(name) in _environ()}
        merged = {k: v for k, v in file_values.items() if k not in env_set} | given
        return Settings(**merged)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}{_shown_input(e)}" for e in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from None
    except SettingsError as exc:  # an environment variable that is not valid JSON for a table setting
        raise ConfigError(f"invalid configuration: {exc}") from None


# Settings whose values may hold secrets (trunk URIs carry passwords): never echoed in an error.
_SECRET_SETTINGS = {"secret_key", "admin_token", "metrics_token", "trunks", "database_url"}


def _shown_input(error: Any) -> str:
    """`` (got 'abc')`` for a bad plain value, so the operator sees what was read; nothing for secrets."""
    value, where = error.get("input"), error["loc"]
    if error["type"] == "extra_forbidden" or (where and where[0] in _SECRET_SETTINGS):
        return ""
    if isinstance(value, str | int | float) and len(repr(value)) <= 80:
        return f" (got {value!r})"
    return ""


def _env_name(field: str) -> str:
    return f"SIPLINE_{field.upper()}"


def _environ() -> set[str]:
    return {key.upper() for key in os.environ}
