"""The SDK's one transport boundary: httpx failures become `SiplineTransportError`; reads may be retried.

Only calls marked idempotent (the queries: sipQuery, recordSip, recordGroupQuery, recordSipQuery) are
retried, and only when no answer came back (connection refused or dropped, timeout): a write such as
sendSip or sipAdd that timed out may have been carried out, so it is never sent twice.
"""

from dataclasses import dataclass

import httpx

from sipline.client.models import SiplineTransportError

MAX_RETRIES = 10
MAX_DELAY = 5.0
# What sending a request may raise; RETRYABLE (no answer came back) is worth a retry for a query.
SEND_ERRORS = (httpx.TransportError, httpx.InvalidURL)
RETRYABLE = (httpx.NetworkError, httpx.TimeoutException, httpx.RemoteProtocolError)


@dataclass(frozen=True)
class RetryPolicy:
    """`retries` more attempts for idempotent reads, `backoff` seconds before the first, doubling."""

    retries: int = 0
    backoff: float = 0.25

    def __post_init__(self) -> None:
        if not 0 <= self.retries <= MAX_RETRIES:
            raise ValueError(f"retries must be 0..{MAX_RETRIES}")
        if not 0 <= self.backoff <= MAX_DELAY:
            raise ValueError(f"backoff must be 0..{MAX_DELAY:g} seconds")

    def delay_or_raise(self, base_url: str, idempotent: bool, exc: Exception, attempt: int) -> float:
        """Seconds to wait before trying again after failed attempt `attempt` (0-based), or the error."""
        if not idempotent or attempt >= self.retries or not isinstance(exc, RETRYABLE):
            raise transport_error(base_url, exc) from exc
        return min(self.backoff * float(2**attempt), MAX_DELAY)


def transport_error(base_url: str, exc: Exception) -> SiplineTransportError:
    if isinstance(exc, httpx.TimeoutException):
        detail = "no answer in time"
    elif isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        detail = f"not a usable URL ({exc}); give http://HOST:PORT"
    else:
        detail = str(exc) or type(exc).__name__
    return SiplineTransportError(base_url, detail)
