"""Verifying a status report push on the receiving side (Standard Webhooks, ``standardwebhooks``).

    from sipline.client import verify, WebhookVerificationError

    try:
        report = verify(request_body, request_headers, "whsec_...")
    except WebhookVerificationError:
        return 400  # not from the platform, altered, or older than five minutes

Deduplicate by ``report["eventId"]`` (the ``webhook-id`` header): delivery is at least once.
"""

from collections.abc import Mapping
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

__all__ = ["WebhookVerificationError", "verify"]


def verify(body: bytes | str, headers: Mapping[str, str], secret: str) -> dict[str, Any]:
    """The report, if ``headers`` sign ``body`` with ``secret`` (a ``whsec_`` secret) within the last
    five minutes; else ``WebhookVerificationError``. During a secret rotation the request carries a
    signature per secret in force, so either secret verifies."""
    payload = Webhook(secret).verify(body, dict(headers))
    if not isinstance(payload, dict):
        raise WebhookVerificationError("the body is not a JSON object")
    return payload
