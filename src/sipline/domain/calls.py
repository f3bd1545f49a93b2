"""Click-to-call rules that need no I/O: what sendSip accepts, and how a call's end is recorded.

GUIDE section 3: terminationCode is the callee leg's final SIP code ("200" once the call was
established); when the phone leg fails first, the phone leg's code. The reason is its text.
"""

from dataclasses import dataclass
from datetime import datetime

CALLEE_MIN, CALLEE_MAX = 3, 20
CALLED_INFO_MAX = 1000
NO_FEEDBACK = "-1"


def callee(value: str) -> str:
    """The number to call: 3-20 ASCII digits, an optional leading + (E.164 written with it)."""
    digits = value[1:] if value.startswith("+") else value
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError("must contain digits only (an optional leading + is allowed)")
    if not CALLEE_MIN <= len(digits) <= CALLEE_MAX:
        raise ValueError(f"must be {CALLEE_MIN}-{CALLEE_MAX} digits")
    return digits


def called_info(value: str) -> str:
    if len(value) > CALLED_INFO_MAX:
        raise ValueError(f"must be at most {CALLED_INFO_MAX} characters")
    if "\x00" in value:  # no text column of PostgreSQL can hold it
        raise ValueError("must not contain NUL characters")
    return value


@dataclass(frozen=True)
class Termination:
    """How a call ended: the SIP code (as the API shows it) and why."""

    code: str
    reason: str


# Why a call ended when SIP alone does not say it (the record's terminationReason).
PHONE_NO_ANSWER = "the phone did not answer"
PHONE_HUNG_UP = "the phone hung up"
CALLEE_HUNG_UP = "the callee hung up"
CALLEE_NO_ANSWER = "the callee did not answer"
MAX_DURATION = "the call reached its maximum duration"
BALANCE_EXHAUSTED = "the balance ran out"
SHUTDOWN = "the server was stopped during the call"
INTERRUPTED = "interrupted: the server stopped during the call and the call was closed at restart"
NOT_REACHABLE = "the phone could not be reached"
NO_MEDIA_PORT = "no free media port on the platform"
BAD_PHONE_SDP = "the phone's session description was refused"
NO_CALLEE_ANSWER_SDP = "the callee answered without a usable session description"
MEDIA_TIMEOUT = "no media from either side"


def media_timeout(idle_seconds: float) -> str:
    """The reason of a call ended by the media plane's timeout, e.g. "... for 60 s"."""
    return f"{MEDIA_TIMEOUT} for {round(idle_seconds)} s"


def balance_exhausted(paid_seconds: int) -> str:
    """The reason of a call cut because its next seconds could not be reserved."""
    return f"{BALANCE_EXHAUSTED}: the next billing step could not be reserved after {paid_seconds} s paid"


def answered_termination(ended_by: str) -> Termination:
    """An established call always ends with terminationCode "200"; the reason says who hung up."""
    return Termination("200", ended_by)


def failed_termination(status: int, reason_phrase: str, why: str | None = None) -> Termination:
    text = f"{reason_phrase} ({why})" if why else reason_phrase
    return Termination(str(status), text)


def call_duration(answer: datetime | None, hangup: datetime | None) -> int:
    """Whole seconds from answer to hang-up (GUIDE section 3), 0 for unanswered calls."""
    if answer is None or hangup is None:
        return 0
    return max(0, int((hangup - answer).total_seconds()))


def last_known(*times: datetime | None) -> datetime | None:
    """The latest of a call's known moments: where a call cut off by a crash is taken to have ended.

    Its last recorded activity (a SIP event, the node's heartbeat) is the last moment the call was
    certainly up, so the call is charged up to there and not beyond.
    """
    known = [time for time in times if time is not None]
    return max(known) if known else None


def dtmf_digit(info_body: str) -> str | None:
    """The digit of a SIP INFO application/dtmf-relay body ("Signal=5"), else None."""
    for line in info_body.splitlines():
        name, _, value = line.partition("=")
        if name.strip().lower() == "signal":
            digit = value.strip().upper()
            if len(digit) == 1 and digit in "0123456789*#ABCD":
                return digit
    return None
