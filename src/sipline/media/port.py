"""The media-plane port: what a call application asks of whatever carries its RTP.

A call has two legs (``Leg.AGENT``: the agent's phone, ``Leg.CALLEE``: the carrier side). The
platform is the SDP endpoint of each leg (a B2BUA anchoring media), so each leg has its own
offer/answer exchange with the platform:

- a leg offers (the phone's 200 to an offerless INVITE, a re-INVITE): ``accept_offer`` takes the
  leg's offer and gives the platform's answer for that leg;
- the platform offers to a leg (the INVITE to the callee, a re-INVITE it relays): ``make_offer``
  gives the platform's offer for that leg, with the codecs negotiated on the other leg;
  ``accept_answer`` takes the leg's answer (from a 183 with SDP, early media, or the 2xx).

Every SDP the back-end hands out names only the platform's own RTP address (connection and media
lines, RTCP on port + 1). Audio flows between the legs as soon as both have a remote description;
before that, ``ringback`` plays a locally generated ringback tone to a leg.

An ng back-end maps this onto rtpengine as one call with a monologue per leg: ``accept_offer`` is
an ``offer`` for the leg's from-tag followed by the answer rtpengine gives on the platform's
behalf; ``make_offer``/``accept_answer`` are ``offer``/``answer`` towards the other tag;
``start_recording``/``stop_recording`` and ``release`` are the ng commands of those names
(``start recording``, ``stop recording``, ``delete``); DTMF comes from its ``dtmf-log-dest``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol


class Leg(enum.StrEnum):
    AGENT = "agent"  # the agent's phone: the left channel of a recording
    CALLEE = "callee"  # the carrier side: the right channel

    @property
    def other(self) -> Leg:
        return Leg.CALLEE if self is Leg.AGENT else Leg.AGENT


class MediaError(Exception):
    """The media plane cannot do what was asked (no free port, unreadable SDP, no common codec).

    The message is fit for a log line and a SIP reason phrase.
    """


class NoCommonCodec(MediaError):
    """A leg's offer or answer shares no codec with the other leg."""


class NoFreePort(MediaError):
    """The configured RTP port range is exhausted."""


@dataclass(frozen=True)
class LegStats:
    packets_in: int = 0
    packets_out: int = 0
    bytes_in: int = 0
    dropped: int = 0  # garbage, strangers, unknown payload types
    latched_to: tuple[str, int] | None = None  # where the leg's RTP really comes from


@dataclass(frozen=True)
class MediaStats:
    agent: LegStats = field(default_factory=LegStats)
    callee: LegStats = field(default_factory=LegStats)


@dataclass(frozen=True)
class RawRecording:
    """A recording as the back-end left it: one mono 16-bit little-endian PCM file per channel,
    each sample placed at its RTP timestamp (gaps read as silence), at ``sample_rate``.

    ``left`` is the agent, ``right`` the callee. A file may be missing (a leg that never sent audio)
    or be shorter than the other; ``started_at`` is when the recording began (UTC).
    """

    recording_id: str  # the recordingFileId, a UUID string
    directory: Path  # the spool directory holding the files below (and nothing else of others)
    left: Path
    right: Path
    sample_rate: int
    started_at: datetime


class MediaEvents(Protocol):
    """What a media session reports to its call; called on the event loop, must not block."""

    def media_dtmf(self, leg: Leg, digit: str, at: datetime) -> None:
        """One key press (RFC 4733 telephone-event), reported once however often it is repeated."""

    def media_timeout(self, idle_seconds: float) -> None:
        """No RTP from either leg for the configured time: the call should end."""

    def media_activity(self, at: datetime) -> None:
        """RTP was seen lately (at most about once a second): the call is known to be up."""

    def recording_failed(self, reason: str) -> None:
        """Recording stopped (disk full, write error); the call goes on."""


class MediaSession(Protocol):
    """One call's media. Methods raise ``MediaError`` (never another exception) on bad SDP."""

    call_id: str

    def accept_offer(self, leg: Leg, sdp: bytes) -> bytes:
        """The leg offers ``sdp``; returns the platform's answer to send to that leg."""

    def make_offer(self, leg: Leg) -> bytes:
        """The platform's offer to ``leg``: the codecs the other leg negotiated (or offered)."""

    def accept_answer(self, leg: Leg, sdp: bytes) -> None:
        """``leg`` answers the platform's last offer to it (early media or final answer)."""

    def ringback(self, leg: Leg, playing: bool) -> None:
        """Start or stop a locally generated ringback tone towards ``leg``."""

    def start_recording(self, recording_id: str) -> None:
        """Record both legs from now on, stereo (agent left, callee right), under ``recording_id``."""

    def stop_recording(self) -> RawRecording | None:
        """Stop recording; the files are complete and flushed. None when nothing was recording."""

    def stats(self) -> MediaStats: ...

    def release(self) -> MediaStats:
        """Free the session's ports (stopping any recording first); safe to call more than once."""


@dataclass(frozen=True)
class MediaHealth:
    """What readiness asks of the media plane: can it take another call now?"""

    running: bool
    port_pairs: int  # RTP/RTCP pairs the plane may use
    free_port_pairs: int  # of those, free for a new call leg (a call takes two)


class MediaPlane(Protocol):
    """Allocates media sessions; one per node (the embedded relay) or per media server."""

    def health(self) -> MediaHealth: ...

    def allocate(self, call_id: str, events: MediaEvents) -> MediaSession:
        """A session with its ports reserved; raises ``NoFreePort`` when the range is used up."""

    def sessions(self) -> int:
        """Sessions allocated and not yet released (a leak shows here)."""

    def packet_counts(self) -> tuple[int, int]:
        """RTP packets relayed and dropped (garbage, strangers, unknown payload types) since start."""

    async def start(self) -> None: ...

    async def stop(self) -> None:
        """Release every session (the node stops)."""
