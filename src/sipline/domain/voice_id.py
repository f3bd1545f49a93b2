"""Call identifiers: 19 digits, `yyMMddHHmmss` (UTC) then a 7-digit sequence, as 2203031113381000002."""

from datetime import UTC, datetime

SEQUENCE_MODULUS = 10_000_000


def format_voice_id(at: datetime, sequence: int) -> str:
    if at.tzinfo is None:
        raise ValueError("voice ids are made from aware datetimes")
    return at.astimezone(UTC).strftime("%y%m%d%H%M%S") + f"{sequence % SEQUENCE_MODULUS:07d}"


def is_voice_id(value: str) -> bool:
    return len(value) == 19 and value.isascii() and value.isdigit()
