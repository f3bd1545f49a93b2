"""A minimal real-socket SIP client for tests (UDP or TCP), speaking raw messages."""

from __future__ import annotations

import asyncio
import itertools

from sipline.sip.digest import DigestClient
from sipline.sip.message import SipResponse, parse_message
from sipline.sip.transaction import new_branch, new_tag

_counter = itertools.count(1)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, queue: asyncio.Queue[bytes]) -> None:
        self.queue = queue

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.queue.put_nowait(data)


class RawPeer:
    """Sends requests to the server and returns the final responses it gets back."""

    def __init__(self, server_port: int, transport: str = "udp") -> None:
        self.server = ("127.0.0.1", server_port)
        self.transport = transport
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.port = 0
        self._udp: asyncio.DatagramTransport | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None

    async def open(self) -> RawPeer:
        loop = asyncio.get_running_loop()
        if self.transport == "udp":
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Udp(self.queue), local_addr=("127.0.0.1", 0), remote_addr=self.server
            )
            self._udp = transport
            self.port = transport.get_extra_info("sockname")[1]
        else:
            reader, writer = await asyncio.open_connection(*self.server)
            self._writer = writer
            self.port = writer.get_extra_info("sockname")[1]
            self._reader_task = asyncio.create_task(self._read_stream(reader))
        return self

    async def _read_stream(self, reader: asyncio.StreamReader) -> None:
        buffer = b""
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            buffer += chunk
            while b"\r\n\r\n" in buffer:
                head, _, rest = buffer.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() in (b"content-length", b"l"):
                        length = int(value)
                if len(rest) < length:
                    break
                self.queue.put_nowait(head + b"\r\n\r\n" + rest[:length])
                buffer = rest[length:]

    def send_raw(self, data: bytes) -> None:
        if self._udp is not None:
            self._udp.sendto(data)
        else:
            assert self._writer is not None
            self._writer.write(data)

    async def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._writer is not None:
            self._writer.close()
        if self._reader_task is not None:
            self._reader_task.cancel()

    async def receive(self, timeout: float = 2.0) -> SipResponse | None:
        """Next final response (provisional ones skipped); None on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            try:
                data = await asyncio.wait_for(self.queue.get(), remaining)
            except TimeoutError:
                return None
            message = parse_message(data)
            if isinstance(message, SipResponse) and message.status >= 200:
                return message

    def build(
        self,
        method: str,
        user: str,
        *,
        call_id: str,
        cseq: int,
        headers: list[str] | None = None,
        contact: str | None = "default",
        expires: int | None = None,
        branch: str | None = None,
    ) -> bytes:
        host, port = self.server
        lines = [
            f"{method} sip:{host}:{port} SIP/2.0",
            f"Via: SIP/2.0/{self.transport.upper()} 127.0.0.1:{self.port}"
            f";branch={branch or new_branch()};rport",
            "Max-Forwards: 70",
            f"From: <sip:{user}@{host}>;tag={new_tag()}",
            f"To: <sip:{user}@{host}>",
            f"Call-ID: {call_id}",
            f"CSeq: {cseq} {method}",
        ]
        if contact == "default":
            contact = f"<sip:{user}@127.0.0.1:{self.port}>"
        if contact is not None:
            lines.append(f"Contact: {contact}")
        if expires is not None:
            lines.append(f"Expires: {expires}")
        lines += headers or []
        return ("\r\n".join([*lines, "Content-Length: 0", "", ""])).encode()

    async def register(
        self,
        user: str,
        password: str | None,
        *,
        call_id: str | None = None,
        cseq: int = 1,
        contact: str | None = "default",
        expires: int | None = 3600,
        algorithm: str = "MD5",
        timeout: float = 2.0,
    ) -> tuple[SipResponse | None, int]:
        """REGISTER, answer the 401 if a password is given; returns (final response, next CSeq)."""
        call_id = call_id or f"reg-{next(_counter)}-{new_tag()}@127.0.0.1"
        self.send_raw(
            self.build("REGISTER", user, call_id=call_id, cseq=cseq, contact=contact, expires=expires)
        )
        response = await self.receive(timeout)
        cseq += 1
        if response is None or response.status != 401 or password is None:
            return response, cseq
        challenges = [c for c in response.headers("WWW-Authenticate") if f"algorithm={algorithm}" in c]
        host, port = self.server
        auth = DigestClient(user, password).authorization(challenges, "REGISTER", f"sip:{host}:{port}")
        self.send_raw(
            self.build(
                "REGISTER",
                user,
                call_id=call_id,
                cseq=cseq,
                contact=contact,
                expires=expires,
                headers=[f"Authorization: {auth}"],
            )
        )
        return await self.receive(timeout), cseq + 1
