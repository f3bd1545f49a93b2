"""Python SDK of the voice API: `Client` (blocking) and `AsyncClient`, raising `SiplineError`."""

from sipline.client.async_client import AsyncClient
from sipline.client.models import CallRecord, Page, Phone, SiplineError
from sipline.client.sync import Client

__all__ = ["AsyncClient", "CallRecord", "Client", "Page", "Phone", "SiplineError"]
