"""The composition root: settings in, a running platform out. Nothing else wires dependencies."""

import logging
import secrets
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sipline.billing.deck_service import DeckService
from sipline.billing.deck_store import DeckStore
from sipline.billing.ledger import LedgerService
from sipline.billing.limit_store import LimitStore
from sipline.billing.limits import CallAdmission
from sipline.billing.rate_book import RateBook
from sipline.calls.handset import HandsetCalls, HandsetSettings
from sipline.calls.send_sip import CallService
from sipline.calls.targets import CallLimits
from sipline.calls.trunk_health import PingPolicy, TrunkMonitor
from sipline.calls.trunk_resolver import TrunkResolver
from sipline.carrier.sandbox import SandboxCarrier
from sipline.config import SANDBOX_TRUNK, ConfigError, Settings
from sipline.domain.recordings import LinkSigner
from sipline.domain.trunks import Trunk, TrunkRoutes
from sipline.events.delivery import DeliveryPolicy, PushWorker
from sipline.events.domain import CallEvent, RecordingReady
from sipline.events.outbox import LiveEvents, Outbox
from sipline.events.ssrf import UrlGuard
from sipline.events.stream import EventStream
from sipline.media.port import MediaPlane
from sipline.media.relay import EmbeddedMediaPlane
from sipline.metrics import PlatformMetrics
from sipline.open_files import default_sip_connection_cap
from sipline.services.auth import AuthService
from sipline.services.console_users import ConsoleUsers
from sipline.services.dashboard import DashboardService
from sipline.services.directory import Directory
from sipline.services.health_samples import HealthSampler, NodeFigures
from sipline.services.live_calls import LiveCalls
from sipline.services.phones import PhoneService
from sipline.services.push import PushService
from sipline.services.readiness import ReadinessProbe
from sipline.services.recording_links import RecordingLinks
from sipline.services.recordings import RecordingService
from sipline.services.records import RecordService
from sipline.services.sip_credentials import DirectoryCredentials
from sipline.services.tenancy import TenancyService
from sipline.sip import SipServer, SipServerConfig
from sipline.sip.connection_limits import ConnectionLimits
from sipline.startup import database_errors, prepare_data_dir, reason
from sipline.store.bindings import PersistentBindingStore
from sipline.store.database import create_engine, session_factory
from sipline.store.migrate import upgrade_to_head
from sipline.store.secretbox import SecretBox, SecretBoxError

log = logging.getLogger("sipline")


@dataclass
class Platform:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    admin_token: str
    directory: Directory
    bindings: PersistentBindingStore
    auth: AuthService
    phones: PhoneService
    records: RecordService
    tenancy: TenancyService
    sip: SipServer  # built here, started by runtime.serve (or a test)
    calls: CallService
    sandbox: SandboxCarrier | None  # the built-in carrier, when a trunk route uses it
    metrics: PlatformMetrics
    recordings: RecordingService  # the call flow tells it; it encodes, recovers and sweeps
    recording_links: RecordingLinks  # getRecordingFileUrl and the download route
    media: MediaPlane  # the embedded RTP relay; started and stopped by runtime.running
    handset: HandsetCalls  # calls dialled on the phones: the SIP server's on_invite
    rate_book: RateBook  # the call path's rates, in memory; runtime.running watches for imports
    decks: DeckService  # the operator's rate deck import, export and versions
    limits: LimitStore  # the accounts' fraud limits (operator)
    admission: CallAdmission  # the check of every new call against them (sendSip, phones)
    ledger: LedgerService  # balances and ledgers (getBalance, ledgerQuery, operator adjustments)
    console_users: ConsoleUsers  # the web console's users and sign-in sessions
    dashboard: DashboardService  # the console dashboard's aggregates
    live_calls: LiveCalls  # calls in progress on this node; hang-up (console and voice API)
    readiness: ReadinessProbe  # /readyz and the console's health page: one probe, one query a second
    events: EventStream  # the calls' domain events (events/): journal first, then these subscribers
    push: PushWorker  # delivers the status report push's outbox; run by runtime.running
    push_config: PushService  # push URLs, secrets, events, outbox and replays (admin, customer)
    live_events: LiveEvents  # writes the opted-in ringing and answered events to the push outbox
    trunk_health: TrunkMonitor  # OPTIONS pings of the trunks (console, metrics); run by runtime.running
    health_samples: HealthSampler  # the health page's charts: a ring of this node's figures

    async def start_sandbox(self) -> None:
        """Start the sandbox carrier and route the 'sandbox' trunk to it."""
        if self.sandbox is None:
            return
        await self.sandbox.start()
        self.calls.routes.trunks[SANDBOX_TRUNK] = Trunk(SANDBOX_TRUNK, self.sandbox.host, self.sandbox.port)

    async def close(self) -> None:
        await self.engine.dispose()


async def build_platform(settings: Settings, *, migrate: bool = True) -> Platform:
    """Open the database (migrating it to the newest schema) and wire the services."""
    prepare_data_dir(settings.data_dir)
    try:
        secrets_box = (
            SecretBox.from_base64(settings.secret_key)
            if settings.secret_key
            else SecretBox.from_key_file(settings.secret_key_file)
        )
    except SecretBoxError as exc:
        where = "secret_key" if settings.secret_key else str(settings.secret_key_file)
        raise ConfigError(f"{where}: {exc}") from None
    with database_errors(settings.effective_database_url):
        engine = create_engine(settings.effective_database_url)
    try:
        with database_errors(settings.effective_database_url):
            if migrate:
                await upgrade_to_head(engine)
        return _wire(settings, engine, secrets_box)
    except BaseException:
        await engine.dispose()  # a start-up that failed half-way leaves no connections behind
        raise


def _wire(settings: Settings, engine: AsyncEngine, secrets_box: SecretBox) -> Platform:
    sessions = session_factory(engine)
    directory = Directory(sessions, secrets_box)
    bindings = PersistentBindingStore(engine)
    sip = build_sip_server(settings, directory, bindings)
    recordings = RecordingService(
        sessions, settings.effective_recording_dir, settings.node_name, settings.recording_retention_days
    )
    media = build_media_plane(settings)
    deck_store = DeckStore(sessions)
    rate_book = RateBook(deck_store, settings.rate_deck())
    limits = LimitStore(sessions, directory)
    admission = CallAdmission(limits.load, limits.daily_spend, directory)  # one per node: its counters
    events = EventStream()
    recordings.on_ready = lambda voice_id, recording_id: events.publish(
        RecordingReady(voice_id, datetime.now(UTC), recording_id)
    )
    routes = TrunkRoutes(settings.default_trunk, dict(settings.app_trunks), settings.trunk_table())
    resolver = TrunkResolver()
    calls = CallService(
        sessions,
        directory,
        bindings,
        sip,
        routes,
        rate_book,
        CallLimits(settings.phone_ring_timeout, settings.callee_ring_timeout, settings.max_call_duration),
        settings.node_name,
        resolver,
        media,
        recordings if settings.record_calls else None,
        admission=admission,
        reservation_chunk=settings.reservation_chunk,
        reservation_lead=settings.reservation_lead,
        events=events,
    )
    push, live_events = build_push(settings, sessions, secrets_box, calls, events)
    plan, app_plans = settings.dial_plans()
    handset = HandsetCalls(calls, sip, directory, HandsetSettings(plan, app_plans, settings.on_net_rate))
    sip.on_invite = handset.on_invite
    trunk_health = TrunkMonitor(  # routes.trunks: the sandbox trunk joins it when its carrier starts
        sip,
        resolver,
        routes.trunks,
        PingPolicy(settings.trunk_ping_interval, settings.trunk_ping_timeout, settings.trunk_down_after),
    )
    metrics = PlatformMetrics()
    metrics.watch(bindings, sip, calls, media, push, trunk_health)
    return Platform(
        settings=settings,
        engine=engine,
        sessions=sessions,
        admin_token=settings.admin_token or _admin_token_from_file(settings.admin_token_file),
        directory=directory,
        bindings=bindings,
        auth=AuthService(directory, settings.timestamp_window),
        phones=PhoneService(sessions, secrets_box, directory, bindings),
        records=RecordService(sessions, settings.record_retention_days),
        tenancy=TenancyService(sessions, secrets_box, directory, settings.default_phone_limit),
        sip=sip,
        calls=calls,
        sandbox=SandboxCarrier("127.0.0.1", settings.sandbox_port) if settings.uses_sandbox else None,
        metrics=metrics,
        recordings=recordings,
        recording_links=RecordingLinks(
            sessions,
            settings.effective_recording_dir,
            LinkSigner(secrets_box.derive_key("sipline recording links")),
            settings.recording_url_ttl,
            settings.recording_retention_days,
        ),
        media=media,
        handset=handset,
        rate_book=rate_book,
        decks=DeckService(deck_store, rate_book, settings.rate_deck(), settings.rate_deck_max_lines),
        limits=limits,
        admission=admission,
        ledger=LedgerService(sessions),
        console_users=ConsoleUsers(sessions, settings.console_session_ttl),
        dashboard=DashboardService(sessions),
        live_calls=LiveCalls(sessions, calls),
        readiness=ReadinessProbe(engine, sip, media),
        events=events,
        push=push,
        live_events=live_events,
        push_config=PushService(sessions, secrets_box, push.guard, push.wake, live_events.invalidate),
        trunk_health=trunk_health,
        health_samples=HealthSampler(
            lambda: NodeFigures(len(calls.active), media.sessions(), bindings.counts()[0]),
            interval=settings.health_sample_interval,
            history=settings.health_sample_history,
        ),
    )


def build_push(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    secrets_box: SecretBox,
    calls: CallService,
    events: EventStream,
) -> tuple[PushWorker, LiveEvents]:
    """The status report push: reports written with each settlement, extension events from the event
    stream, and the worker that delivers them (woken by new rows and by recordings becoming ready)."""
    from sipline.api.record_wire import push_event, push_report

    worker = PushWorker(
        sessions,
        secrets_box,
        UrlGuard(settings.push_allowed_networks),
        DeliveryPolicy(
            timeout=settings.push_timeout,
            schedule=settings.push_retry_schedule,
            retry_after_max=settings.push_retry_after_max,
            batch=settings.push_batch,
            concurrency=settings.push_concurrency,
            poll_interval=settings.push_poll_interval,
        ),
    )
    outbox = Outbox(push_report, push_event, settings.push_recording_wait, worker.wake)
    calls.writer.in_settlement.append(outbox.write_reports)
    live_events = LiveEvents(sessions, outbox)
    events.subscribe(live_events)

    def recording_ready(event: CallEvent) -> None:
        if isinstance(event, RecordingReady):
            worker.wake()  # a report held for this recording may go now

    events.subscribe(recording_ready)
    return worker, live_events


def build_media_plane(settings: Settings) -> MediaPlane:
    """The embedded RTP relay on the configured host and port range."""
    return EmbeddedMediaPlane(
        settings.host,
        settings.rtp_port_min,
        settings.rtp_port_max,
        media_timeout=settings.media_timeout,
        spool=settings.recording_spool,  # recordings in progress, until encoded
        advertised=settings.media_address,
        batch_seconds=settings.media_batch_ms / 1000,
        batch_min_pps=settings.media_batch_min_pps,
    )


def build_sip_server(settings: Settings, directory: Directory, bindings: PersistentBindingStore) -> SipServer:
    """The SIP service: registrar for the phones and the B2BUA's legs, on the configured ports."""
    return SipServer(
        SipServerConfig(
            host=settings.host,
            port=settings.sip_port,
            domain=settings.sip_domain,
            tls_context=_tls_context(settings),
            tls_port=settings.sip_tls_port,
            min_expires=settings.sip_min_expires,
            max_expires=settings.sip_max_expires,
            default_expires=settings.sip_max_expires,
            digest_algorithms=settings.digest_algorithms,
            connections=_connection_limits(settings),
            listen_backlog=settings.listen_backlog,
        ),
        credentials=DirectoryCredentials(directory),
        bindings=bindings,
    )


def _connection_limits(settings: Settings) -> ConnectionLimits:
    return ConnectionLimits(
        max_connections=settings.sip_max_connections
        or default_sip_connection_cap(settings.http_max_connections, settings.rtp_sockets),
        max_per_address=settings.sip_max_connections_per_address,
        idle_timeout=settings.sip_tcp_idle_timeout,
        handshake_timeout=settings.sip_tcp_handshake_timeout,
    )


def _tls_context(settings: Settings) -> ssl.SSLContext | None:
    if settings.sip_tls_port is None:
        return None
    if settings.sip_tls_certificate is None or settings.sip_tls_private_key is None:
        raise ConfigError("sip_tls_port needs sip_tls_certificate and sip_tls_private_key")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(settings.sip_tls_certificate, settings.sip_tls_private_key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"cannot load the SIP TLS certificate {settings.sip_tls_certificate} "
            f"or key {settings.sip_tls_private_key}: {reason(exc)}"
        ) from None
    return context


def build_app(platform: Platform) -> FastAPI:
    from sipline.api.app import create_app

    return create_app(platform)


def _admin_token_from_file(path: Path) -> str:
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32) + "\n")
        path.chmod(0o600)
        log.info("generated an admin API token in %s", path)
    return path.read_text().strip()
