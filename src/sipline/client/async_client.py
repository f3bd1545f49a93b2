"""Asynchronous client of the voice API (same methods as `Client`, awaitable)."""

import asyncio
import itertools
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from sipline.client import calls
from sipline.client.base import ClientBase
from sipline.client.models import AccountBalance, CallRecord, LedgerEntry, Page, Phone, RecordingUrl
from sipline.client.transport import SEND_ERRORS

T = TypeVar("T")


class AsyncClient(ClientBase[httpx.AsyncClient]):
    """The same errors and `retries` as `Client`."""

    def _open(self, options: dict[str, Any]) -> httpx.AsyncClient:
        return httpx.AsyncClient(**options)

    async def call(self, call: calls.Call[T]) -> T:
        for attempt in itertools.count():
            try:
                response = await self._http.request(**self._request(call))
            except SEND_ERRORS as exc:
                await asyncio.sleep(self._retry.delay_or_raise(self.base_url, call.idempotent, exc, attempt))
            else:
                return calls.answer(call, response.status_code, response.content)
        raise AssertionError("unreachable")

    async def sip_add(
        self, app_id: str, group_name: str, phone_name: str, quantity: int, display_num: str
    ) -> None:
        await self.call(calls.sip_add(app_id, group_name, phone_name, quantity, display_num))

    async def sip_query(self, app_id: str, current: int = 1, size: int = 25) -> Page[Phone]:
        return await self.call(calls.sip_query(app_id, current, size))

    async def iter_phones(self, app_id: str, page_size: int = 100) -> AsyncIterator[Phone]:
        current = 1
        while True:
            page = await self.sip_query(app_id, current, page_size)
            for phone in page.records:
                yield phone
            if current >= page.pages:
                return
            current += 1

    async def sip_reset(self, app_id: str, account: str) -> str:
        return await self.call(calls.sip_reset(app_id, account))

    async def send_sip(
        self, app_id: str, account: str, callee: str, display_num: str, called_info: str = ""
    ) -> str:
        """Invoke a phone (click-to-call); returns the voiceId of the call, which goes on."""
        return await self.call(calls.send_sip(app_id, account, callee, display_num, called_info))

    async def record_sip(self, voice_id: str) -> CallRecord:
        return await self.call(calls.record_sip(voice_id))

    async def record_group_query(
        self, str_time: str, end_time: str, current: int = 1, size: int = 25
    ) -> Page[CallRecord]:
        return await self.call(calls.record_group_query(str_time, end_time, current, size))

    async def record_sip_query(
        self,
        str_time: str,
        end_time: str,
        current: int = 1,
        size: int = 25,
        *,
        sip_group_name: str | None = None,
        phone_name: str | None = None,
    ) -> Page[CallRecord]:
        return await self.call(
            calls.record_sip_query(str_time, end_time, current, size, sip_group_name, phone_name)
        )

    async def recording_url(self, recording_file_id: str, source_type: str = "sip") -> RecordingUrl:
        """A signed, expiring URL of a call's recording (recordingFileId, or a group query's
        voiceFileId with source_type="group"); fetching it streams the mp3."""
        return await self.call(calls.recording_url(recording_file_id, source_type))

    async def get_balance(self) -> AccountBalance:
        """What the account can spend now (getBalance; the vendor's account API)."""
        return await self.call(calls.get_balance())

    async def ledger_query(
        self, current: int = 1, size: int = 25, str_time: str | None = None, end_time: str | None = None
    ) -> Page[LedgerEntry]:
        """The account's ledger, newest first (a sipline extension); times ISO 8601 with offset."""
        return await self.call(calls.ledger_query(current, size, str_time, end_time))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
