"""Python SDK of the voice API: `Client` (blocking) and `AsyncClient`.

They raise `SiplineError` when the API refuses a call and `SiplineTransportError` when it cannot be
reached; both are `SiplineClientError`.
"""

from sipline.client.async_client import AsyncClient
from sipline.client.models import (
    AccountBalance,
    CallRecord,
    LedgerEntry,
    Page,
    Phone,
    RecordingUrl,
    SiplineClientError,
    SiplineError,
    SiplineTransportError,
)
from sipline.client.sync import Client, iter_pages

__all__ = [
    "AccountBalance",
    "AsyncClient",
    "CallRecord",
    "Client",
    "LedgerEntry",
    "Page",
    "Phone",
    "RecordingUrl",
    "SiplineClientError",
    "SiplineError",
    "SiplineTransportError",
    "iter_pages",
]
