"""The one exception type the SIP parser raises."""

from __future__ import annotations


class SipParseError(ValueError):
    """A message (or header value) that is not valid SIP.

    ``status`` is the response a UAS should send for a request that fails this way
    (400 normally, 505 for an unsupported SIP version); responses are simply dropped.
    """

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
