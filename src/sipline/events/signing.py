"""Standard Webhooks signing (https://www.standardwebhooks.com), with the ``standardwebhooks`` package.

Each request carries ``webhook-id`` (the event id), ``webhook-timestamp`` (epoch seconds of this try)
and ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` for each secret in
force, space-separated. During a rotation's grace period that is the new secret's and the old one's,
so a receiver still holding the old secret keeps verifying; afterwards only the new one's.
"""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime
from functools import lru_cache

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 (the scheme's prefix, not a secret)
SECRET_BYTES = 24


def new_secret() -> str:
    """A fresh ``whsec_`` secret: 192 random bits, base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


@lru_cache(maxsize=1024)
def _signer(secret: str) -> Webhook:
    return Webhook(secret)  # decodes the secret once, not per request


def signature(secrets_in_force: tuple[str, ...], event_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` header: one ``v1,`` signature per secret, space-separated."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return " ".join(_signer(secret).sign(event_id, moment, body) for secret in secrets_in_force)


def headers(secrets_in_force: tuple[str, ...], event_id: str, timestamp: int, body: str) -> dict[str, str]:
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secrets_in_force, event_id, timestamp, body),
    }
