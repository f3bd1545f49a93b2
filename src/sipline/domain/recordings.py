"""Call recordings: the states a recording goes through, and the signed links that serve its mp3.

A link is `/recordings/<recordingFileId>.mp3?expires=<epoch seconds>&sig=<hex>`, where `sig` is
HMAC-SHA256 over the id and the expiry under a key only the platform holds: it cannot be moved to
another file, lengthened, or forged, and it stops working at `expires`.
"""

import enum
import hashlib
import hmac
import re
from dataclasses import dataclass


class RecordingStatus(enum.StrEnum):
    RECORDING = "recording"  # the call is up and being recorded into the spool
    ENCODING = "encoding"  # the call ended; its mp3 is being made
    READY = "ready"  # the mp3 can be fetched
    FAILED = "failed"  # no mp3: recording or encoding failed (recording_error says why)
    DELETED = "deleted"  # the mp3 was deleted at the end of the retention period


# What a recordingFileId may look like at all (ours are UUIDs; the vendor's samples add ".mp3").
RECORDING_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
RECORDING_ID_PATTERN = "^" + RECORDING_ID.pattern + "$"
SIGNATURE = re.compile(r"[0-9a-f]{64}")
MAX_EXPIRES = 10**12  # epoch seconds far beyond any link's end: bounds the parsed integer


@dataclass(frozen=True)
class LinkSigner:
    key: bytes

    def sign(self, recording_id: str, expires: int) -> str:
        message = f"{recording_id}\n{expires}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def valid(self, recording_id: str, expires: int, signature: str, now: float) -> bool:
        """The signature is this id's and this expiry's, and the expiry has not passed."""
        if not SIGNATURE.fullmatch(signature) or not 0 < expires <= MAX_EXPIRES:
            return False
        return hmac.compare_digest(self.sign(recording_id, expires), signature) and now < expires
