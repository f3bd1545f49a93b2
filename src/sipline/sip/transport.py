"""UDP + TCP (+ TLS) SIP transports on asyncio, sharing one host:port.

Incoming messages are parsed, validated and handed up together with the ``Flow`` they
arrived on, so responses (and later requests to a registered phone) go back the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import ipaddress
import itertools
import logging
import re
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from sipline.sip.connection_limits import ConnectionClock, ConnectionGuard, ConnectionLimits
from sipline.sip.counters import SipCounters
from sipline.sip.error_reply import error_reply_for
from sipline.sip.errors import SipParseError
from sipline.sip.message import DEFAULT_MAX_MESSAGE_SIZE, SipMessage, SipRequest, SipResponse, parse_message

log = logging.getLogger(__name__)

SOCKET_BUFFER_BYTES = 4 * 1024 * 1024
_CONTENT_LENGTH_RE = re.compile(rb"\r\n(?:content-length|l)[ \t]*:[ \t]*([0-9]+)", re.I)
_connection_ids = itertools.count(1)


class ListenError(OSError):
    """A SIP listening socket could not be bound; says which address and protocol."""

    def __init__(self, exc: OSError, address: tuple[str, int], protocol: str) -> None:
        super().__init__(exc.errno, exc.strerror or str(exc))
        self.address = address
        self.protocol = protocol  # "udp", "tcp" or "tls"


@dataclass(frozen=True, slots=True)
class Flow:
    """Where a message came from / must go: transport, both addresses, the connection (TCP/TLS)."""

    transport: str  # "udp", "tcp" or "tls"
    local_addr: tuple[str, int]
    remote_addr: tuple[str, int]
    connection_id: int | None = None

    @property
    def reliable(self) -> bool:
        return self.transport != "udp"


MessageHandler = Callable[[SipRequest | SipResponse, Flow], None]


class _DatagramProtocol(asyncio.DatagramProtocol):
    def __init__(self, layer: SipTransportLayer) -> None:
        self.layer = layer

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if len(data) <= 4 and not data.strip(b"\r\n\x00"):
            return  # NAT keep-alive (CRLF or NUL) — nothing to parse
        flow = Flow("udp", self.layer.local_addr, (str(addr[0]), int(addr[1])))
        self.layer.deliver(data, flow, stream=False)

    def error_received(self, exc: Exception) -> None:
        log.debug("udp error: %s", exc)  # ICMP port unreachable etc.; transactions time out


class _StreamConnection(asyncio.Protocol):
    """One TCP/TLS connection: frames messages by Content-Length across partial reads."""

    def __init__(self, layer: SipTransportLayer, transport_name: str, *, inbound: bool) -> None:
        self.layer = layer
        self.transport_name = transport_name
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.flow: Flow | None = None
        self.id = next(_connection_ids)
        self.clock = ConnectionClock(0.0, inbound)
        self.admitted = False  # counted in the layer (refused connections never are)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport: no isinstance check here
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        self.flow = Flow(self.transport_name, (local[0], local[1]), (peer[0], peer[1]), self.id)
        self.clock.opened_at = asyncio.get_running_loop().time()
        self.admitted = self.layer.connection_opened(self)
        if not self.admitted:
            self.transport.abort()  # over a limit: closed at once, before reading a byte

    def connection_lost(self, exc: Exception | None) -> None:
        if self.admitted:
            self.layer.connection_closed(self)

    def close(self, reason: str) -> None:
        """Close on our side (the peer reads EOF); a peer that does not read its data loses it."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        log.debug("closing %s: %s", self.flow, reason)
        self.buffer.clear()
        if transport.get_write_buffer_size():
            transport.abort()
        else:
            transport.close()

    def data_received(self, data: bytes) -> None:
        # Any byte counts as activity, RFC 5626 CRLF keep-alives included.
        clock = self.clock
        clock.last_received = now = asyncio.get_running_loop().time()
        self._drain(data)
        if not self.buffer:
            clock.partial_since = None
        elif clock.partial_since is None:
            clock.partial_since = now

    def _drain(self, data: bytes) -> None:
        self.buffer += data
        buffer = self.buffer
        max_size = self.layer.max_message_size
        assert self.flow is not None and self.transport is not None
        while buffer:
            if buffer.startswith(b"\r\n"):
                # RFC 5626 keep-alive: answer a double-CRLF ping with a CRLF pong
                if buffer.startswith(b"\r\n\r\n"):
                    self.transport.write(b"\r\n")
                    del buffer[:4]
                else:
                    del buffer[:2]
                continue
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > max_size:
                    self._fail(bytes(buffer[:max_size]), "headers too long")
                return
            match = _CONTENT_LENGTH_RE.search(buffer, 0, end + 2)
            if match is None or len(match.group(1)) > 9:
                self._fail(bytes(buffer[: end + 4]), "missing Content-Length on a stream transport")
                return
            total = end + 4 + int(match.group(1))
            if total > max_size:
                self._fail(bytes(buffer[: end + 4]), "message too large")
                return
            if len(buffer) < total:
                return  # wait for the rest of the body
            message = bytes(buffer[:total])
            del buffer[:total]
            self.layer.deliver(message, self.flow, stream=True)

    def _fail(self, head: bytes, reason: str) -> None:
        # The stream cannot be re-synchronised: answer 400 if possible and close.
        reply = error_reply_for(head, 400, reason)
        assert self.transport is not None
        if reply is not None:
            self.transport.write(reply)
        self.buffer.clear()
        self.transport.close()


class SipTransportLayer:
    """Listens for SIP on UDP and TCP on the same host:port (and TLS when given a context)."""

    def __init__(
        self,
        host: str,
        port: int,
        handler: MessageHandler,
        *,
        ssl_context: ssl.SSLContext | None = None,
        tls_port: int | None = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        socket_buffer_bytes: int = SOCKET_BUFFER_BYTES,
        is_blocked: Callable[[str], bool] | None = None,
        client_ssl_context: ssl.SSLContext | None = None,
        connection_limits: ConnectionLimits | None = None,
        backlog: int = 1024,
        advertised_host: str | None = None,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.handler = handler
        self.ssl_context = ssl_context  # server side (listener)
        self.client_ssl_context = client_ssl_context  # outgoing TLS; system defaults if None
        self.connection_guard = ConnectionGuard(connection_limits or ConnectionLimits())
        self.backlog = backlog  # of the TCP and TLS listeners (Linux caps it at net.core.somaxconn)
        self.advertised_host = advertised_host  # host for our Via/Contact (public name or address)
        self._route_cache: dict[str, str] = {}
        self.requested_tls_port = tls_port
        self.max_message_size = max_message_size
        self.socket_buffer_bytes = socket_buffer_bytes
        self.is_blocked = is_blocked  # checked before parsing: banned sources cost almost nothing
        self.local_addr: tuple[str, int] = (host, port)
        self.tls_addr: tuple[str, int] | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._servers: list[asyncio.Server] = []
        self._connections: dict[int, _StreamConnection] = {}
        self._by_remote: dict[tuple[str, tuple[str, int]], _StreamConnection] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self.counters = SipCounters()

    @property
    def port(self) -> int:
        return self.local_addr[1]

    def listening(self) -> dict[str, bool]:
        """Whether each configured transport's socket is open (for the readiness probe)."""
        state = {"udp": self._udp is not None and not self._udp.is_closing()}
        names = ["tcp", "tls"] if self.ssl_context is not None else ["tcp"]
        for index, name in enumerate(names):
            state[name] = index < len(self._servers) and self._servers[index].is_serving()
        return state

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        for _attempt in range(50):
            udp_sock = self._socket(family, socket.SOCK_DGRAM)
            _bind(udp_sock, (self.host, self.requested_port), "udp")
            port = udp_sock.getsockname()[1]
            tcp_sock = self._socket(family, socket.SOCK_STREAM)
            try:
                _bind(tcp_sock, (self.host, port), "tcp")
                # With SO_REUSEADDR, bind passes beside another socket on the port (an outbound
                # connection's ephemeral one) and only listen refuses it: both inside the retry.
                tcp_sock.listen(self.backlog)
            except OSError as exc:
                udp_sock.close()
                tcp_sock.close()
                if exc.errno != errno.EADDRINUSE or self.requested_port != 0:
                    raise
                continue  # the OS-chosen UDP port is taken on TCP: try another
            break
        else:
            raise OSError("no port free on both UDP and TCP")
        self.local_addr = (self.host, port)
        transport, _ = await loop.create_datagram_endpoint(lambda: _DatagramProtocol(self), sock=udp_sock)
        self._udp = transport
        # The backlog is given to create_server: it listens again with its own (default 100).
        self._servers.append(
            await loop.create_server(
                lambda: _StreamConnection(self, "tcp", inbound=True), sock=tcp_sock, backlog=self.backlog
            )
        )
        if self.ssl_context is not None:
            tls_port = self.requested_tls_port if self.requested_tls_port is not None else 0
            tls_sock = self._socket(family, socket.SOCK_STREAM)
            _bind(tls_sock, (self.host, tls_port), "tls")
            self.tls_addr = (self.host, tls_sock.getsockname()[1])
            server = await loop.create_server(
                lambda: _StreamConnection(self, "tls", inbound=True),
                sock=tls_sock,
                ssl=self.ssl_context,
                backlog=self.backlog,
                # a peer that never finishes its handshake is not ours yet: the TLS layer drops it
                ssl_handshake_timeout=self.connection_guard.limits.handshake_timeout,
            )
            self._servers.append(server)
        self._sweeper = asyncio.create_task(self._sweep_loop())

    def _socket(self, family: int, kind: int) -> socket.socket:
        sock = socket.socket(family, kind)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # large buffers so load bursts are queued rather than dropped (accepted sockets inherit)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.socket_buffer_bytes)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.socket_buffer_bytes)
        sock.setblocking(False)
        return sock

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        for server in self._servers:
            server.close()
        for conn in list(self._connections.values()):
            if conn.transport is not None:
                conn.transport.abort()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()
        if self._udp is not None:
            self._udp.close()
            self._udp = None

    # -- receive -----------------------------------------------------------------------
    def deliver(self, data: bytes, flow: Flow, *, stream: bool) -> None:
        if self.is_blocked is not None and self.is_blocked(flow.remote_addr[0]):
            return
        try:
            message = parse_message(data, stream=stream, max_size=self.max_message_size)
            message.validate()
        except SipParseError as exc:
            reply = error_reply_for(data, exc.status, str(exc))
            if reply is not None:
                self.send(reply, flow)
            log.debug("dropped unparsable message from %s: %s", flow.remote_addr, exc)
            return
        if isinstance(message, SipRequest):
            self.counters.received_request(message.method)
            _stamp_received(message, flow)
        else:
            self.counters.received_response(message.status)
        try:
            self.handler(message, flow)
        except Exception:
            log.exception("SIP handler failed for a message from %s", flow.remote_addr)

    def connection_opened(self, conn: _StreamConnection) -> bool:
        """Take a new connection in, or refuse it (False) when it is inbound and over a limit."""
        assert conn.flow is not None
        clock = conn.clock
        if clock.inbound and not self.connection_guard.admit(conn.flow.remote_addr[0], clock.opened_at):
            return False
        self._connections[conn.id] = conn
        self._by_remote[(conn.transport_name, conn.flow.remote_addr)] = conn
        return True

    def connection_closed(self, conn: _StreamConnection) -> None:
        self._connections.pop(conn.id, None)
        assert conn.flow is not None
        if conn.clock.inbound:
            self.connection_guard.release(conn.flow.remote_addr[0])
        key = (conn.transport_name, conn.flow.remote_addr)
        if self._by_remote.get(key) is conn:
            del self._by_remote[key]

    def keep_open(self, connection_id: int | None, seconds: float) -> None:
        """Do not close this connection for idleness in the next ``seconds`` (e.g. it carries a
        registration until then); holds only ever extend."""
        conn = self._connections.get(connection_id or -1)
        if conn is not None:
            clock = conn.clock
            clock.held_until = max(clock.held_until, asyncio.get_running_loop().time() + seconds)

    @property
    def listeners(self) -> list[list[socket.socket]]:
        """The listening sockets of each stream server (TCP, then TLS)."""
        return [list(server.sockets) for server in self._servers]

    @property
    def connection_count(self) -> int:
        """Open TCP/TLS connections, inbound and ours."""
        return len(self._connections)

    async def _sweep_loop(self) -> None:
        guard = self.connection_guard
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(guard.limits.sweep_interval)
            now = loop.time()
            try:
                for conn in list(self._connections.values()):
                    reason = guard.why_expired(conn.clock, now)
                    if reason is not None:
                        conn.close(reason)
            except Exception:  # the sweep must go on: without it silent connections pile up
                log.exception("sweeping TCP/TLS connections failed")

    def is_connected(self, flow: Flow) -> bool:
        return not flow.reliable or (flow.connection_id in self._connections)

    # -- send --------------------------------------------------------------------------
    def send(self, message: SipMessage | bytes, flow: Flow) -> bool:
        """Send on a known flow (UDP: to its remote address; TCP/TLS: on its connection)."""
        data = message if isinstance(message, bytes) else message.to_bytes()
        if flow.transport == "udp":
            if self._udp is None:
                return False
            self._udp.sendto(data, flow.remote_addr)
            self.counters.sent(data)
            return True
        conn = self._connections.get(flow.connection_id or -1)
        if conn is None or conn.transport is None or conn.transport.is_closing():
            return False
        conn.transport.write(data)
        self.counters.sent(data)
        return True

    def advertised_addr(self, flow: Flow) -> tuple[str, int]:
        """The host:port to put in our Via (and Contact) for messages sent on ``flow``.

        The configured ``advertised_host`` wins; a wildcard listener (0.0.0.0 / ::) is replaced
        by the local address the OS routes towards the peer, never sent as is.
        """
        host, port = flow.local_addr
        if self.advertised_host:
            return self.advertised_host, port
        if _is_wildcard(host):
            remote = flow.remote_addr[0]
            host = self._route_cache.get(remote) or _local_address_towards(remote)
            if len(self._route_cache) < 10_000:
                self._route_cache[remote] = host
        return (f"[{host}]" if ":" in host else host), port

    async def flow_to(self, transport: str, addr: tuple[str, int]) -> Flow:
        """A flow for sending a new request: UDP directly, TCP/TLS reusing or opening a connection."""
        transport = transport.lower()
        if transport == "udp":
            return Flow("udp", self.local_addr, addr)
        conn = self._by_remote.get((transport, addr))
        if conn is None:
            loop = asyncio.get_running_loop()
            context: ssl.SSLContext | None = None
            if transport == "tls":
                context = self.client_ssl_context or ssl.create_default_context()
            _, protocol = await loop.create_connection(
                lambda: _StreamConnection(self, transport, inbound=False), addr[0], addr[1], ssl=context
            )
            conn = protocol
        assert conn.flow is not None
        return conn.flow


def _bind(sock: socket.socket, address: tuple[str, int], protocol: str) -> None:
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise ListenError(exc, address, protocol) from exc


@functools.lru_cache(maxsize=64)
def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return host == ""


def _local_address_towards(remote_ip: str) -> str:
    """Which local address the OS would use to reach ``remote_ip`` (no packet is sent)."""
    family = socket.AF_INET6 if ":" in remote_ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((remote_ip, 9))
            return str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1" if family == socket.AF_INET else "::1"


def _stamp_received(request: SipRequest, flow: Flow) -> None:
    """RFC 3261 §18.2.1 ``received`` and RFC 3581 ``rport`` on the top Via."""
    via = request.top_via
    source_ip, source_port = flow.remote_addr
    wants_rport = "rport" in via.params
    if via.host.strip("[]") == source_ip and not wants_rport:
        return
    via.params["received"] = source_ip
    if wants_rport:
        via.params["rport"] = str(source_port)
    request.set_top_via(via)
