"""Blocking client of the voice API."""

import itertools
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from sipline.client import calls
from sipline.client.base import ClientBase
from sipline.client.models import AccountBalance, CallRecord, LedgerEntry, Page, Phone, RecordingUrl
from sipline.client.transport import SEND_ERRORS

T = TypeVar("T")


def iter_pages(fetch: Callable[[int], Page[T]]) -> Iterator[T]:
    """Every record of a paged query, fetching page 1, 2, ... as the iteration reaches them."""
    current = 1
    while True:
        page = fetch(current)
        yield from page.records
        if current >= page.pages:
            return
        current += 1


class Client(ClientBase[httpx.Client]):
    """`Client("http://127.0.0.1:8080", api_key, api_secret)`; works against the hosted vendor API too.

    Raises `SiplineError` when the API refuses a call and `SiplineTransportError` when it cannot be
    reached. With `retries=N`, the queries (never the writes) are tried up to N more times when no
    answer came back, waiting `retry_backoff` seconds before the first retry and doubling each time.
    """

    def _open(self, options: dict[str, Any]) -> httpx.Client:
        return httpx.Client(**options)

    def call(self, call: calls.Call[T]) -> T:
        for attempt in itertools.count():
            try:
                response = self._http.request(**self._request(call))
            except SEND_ERRORS as exc:
                time.sleep(self._retry.delay_or_raise(self.base_url, call.idempotent, exc, attempt))
            else:
                return calls.answer(call, response.status_code, response.content)
        raise AssertionError("unreachable")

    def sip_add(self, app_id: str, group_name: str, phone_name: str, quantity: int, display_num: str) -> None:
        self.call(calls.sip_add(app_id, group_name, phone_name, quantity, display_num))

    def sip_query(self, app_id: str, current: int = 1, size: int = 25) -> Page[Phone]:
        return self.call(calls.sip_query(app_id, current, size))

    def iter_phones(self, app_id: str, page_size: int = 100) -> Iterator[Phone]:
        return iter_pages(lambda current: self.sip_query(app_id, current, page_size))

    def sip_reset(self, app_id: str, account: str) -> str:
        return self.call(calls.sip_reset(app_id, account))

    def send_sip(
        self, app_id: str, account: str, callee: str, display_num: str, called_info: str = ""
    ) -> str:
        """Invoke a phone (click-to-call); returns the voiceId of the call, which goes on."""
        return self.call(calls.send_sip(app_id, account, callee, display_num, called_info))

    def record_sip(self, voice_id: str) -> CallRecord:
        return self.call(calls.record_sip(voice_id))

    def record_group_query(
        self, str_time: str, end_time: str, current: int = 1, size: int = 25
    ) -> Page[CallRecord]:
        return self.call(calls.record_group_query(str_time, end_time, current, size))

    def record_sip_query(
        self,
        str_time: str,
        end_time: str,
        current: int = 1,
        size: int = 25,
        *,
        sip_group_name: str | None = None,
        phone_name: str | None = None,
    ) -> Page[CallRecord]:
        return self.call(
            calls.record_sip_query(str_time, end_time, current, size, sip_group_name, phone_name)
        )

    def recording_url(self, recording_file_id: str, source_type: str = "sip") -> RecordingUrl:
        """A signed, expiring URL of a call's recording (recordingFileId, or a group query's
        voiceFileId with source_type="group"); fetching it streams the mp3."""
        return self.call(calls.recording_url(recording_file_id, source_type))

    def get_balance(self) -> AccountBalance:
        """What the account can spend now (getBalance; the vendor's account API)."""
        return self.call(calls.get_balance())

    def ledger_query(
        self, current: int = 1, size: int = 25, str_time: str | None = None, end_time: str | None = None
    ) -> Page[LedgerEntry]:
        """The account's ledger, newest first (a sipline extension); times ISO 8601 with offset."""
        return self.call(calls.ledger_query(current, size, str_time, end_time))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
