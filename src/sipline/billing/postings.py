"""What the ledger records for a call's money (pure): the postings of a reservation, of an extension
and of a settlement, and how they move the balance.

The call writer (calls/writer.py) batches the database work: it takes reservations with conditional
UPDATEs and moves each account's balance once per batch. What it writes is decided here, so the rules
of the money live in billing/ and the writer only stores them. A posting's amount is signed: negative
takes money from the balance (a reservation, a call's cost), positive gives it back (a release, a
top-up).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class Kind(StrEnum):
    TOPUP = "topup"  # the operator added money
    ADJUST = "adjust"  # the operator corrected the balance, with a reason
    RESERVE = "reserve"  # a call's first billing period at acceptance, then each extension
    RELEASE = "release"  # a call's reservations given back at its end
    CALL = "call"  # a call's rated cost


@dataclass(frozen=True)
class Posting:
    kind: Kind
    amount: Decimal  # signed: what it does to the balance
    reference: str  # the voiceId, for a call's postings


def reservation(voice_id: str, amount: Decimal) -> list[Posting]:
    """Money a call holds from now on (its first period, or an extension): nothing when it is free."""
    return [Posting(Kind.RESERVE, -amount, voice_id)] if amount else []


def settlement(voice_id: str, reserved: Decimal, cost: Decimal) -> list[Posting]:
    """A call's end: everything it reserved is released and its rated cost debited (one transaction)."""
    postings = [Posting(Kind.RELEASE, reserved, voice_id)] if reserved else []
    if cost:
        postings.append(Posting(Kind.CALL, -cost, voice_id))
    return postings


def net(postings: Iterable[Posting]) -> Decimal:
    """What the postings do to the balance together."""
    return sum((posting.amount for posting in postings), Decimal(0))


def running_balances(postings: list[Posting], balance_after_all: Decimal) -> Iterator[Decimal]:
    """The balance after each posting, in order, given the balance once all of them are made."""
    balance = balance_after_all - net(postings)
    for posting in postings:
        balance += posting.amount
        yield balance
