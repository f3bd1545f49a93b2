"""Request signing of the voice API: Sign = md5(apiKey + apiSecret + Timestamp)."""

import hashlib
import hmac


def compute_sign(api_key: str, api_secret: str, timestamp: str) -> str:
    """The lowercase hex MD5 the vendor's clients send in the `Sign` header."""
    return hashlib.md5((api_key + api_secret + timestamp).encode(), usedforsecurity=False).hexdigest()


def sign_matches(expected: str, given: str) -> bool:
    """Case-insensitive, constant-time comparison of two hex signatures."""
    return hmac.compare_digest(expected.lower().encode(), given.strip().lower().encode())


def timestamp_within_window(timestamp: str, now_epoch: float, window_seconds: int) -> bool:
    """True when `timestamp` (epoch seconds, digits only) is at most `window_seconds` from now."""
    # isascii: str.isdigit() also takes digits such as "²" that int() refuses.
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return False
    return abs(int(timestamp) - now_epoch) <= window_seconds
