"""billing/postings.py: what the ledger records for a call's money, and that it adds up (pure)."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from sipline.billing.postings import Kind, Posting, net, reservation, running_balances, settlement

money = st.decimals(min_value=0, max_value=1000, places=4, allow_nan=False, allow_infinity=False)


def test_a_settlement_releases_what_was_reserved_and_debits_the_cost() -> None:
    assert settlement("v1", Decimal("0.06"), Decimal("0.0467")) == [
        Posting(Kind.RELEASE, Decimal("0.06"), "v1"),
        Posting(Kind.CALL, Decimal("-0.0467"), "v1"),
    ]
    assert settlement("v2", Decimal(0), Decimal(0)) == []  # a free, unanswered call writes nothing
    assert reservation("v3", Decimal("0.02")) == [Posting(Kind.RESERVE, Decimal("-0.02"), "v3")]
    assert reservation("v4", Decimal(0)) == []


@given(st.lists(st.tuples(money, money, money), max_size=20), money)
def test_the_ledger_of_a_batch_sums_to_the_balance_change(
    calls: list[tuple[Decimal, Decimal, Decimal]], opening: Decimal
) -> None:
    """Each call reserves, extends and settles: the rows' amounts sum to what the balance moved, and
    each row's balance_after is the one before it plus its amount."""
    made = [
        posting
        for number, (first, extension, cost) in enumerate(calls)
        for posting in (
            reservation(str(number), first)
            + reservation(str(number), extension)
            + settlement(str(number), first + extension, min(cost, first + extension))
        )
    ]
    closing = opening + net(made)
    balances = list(running_balances(made, closing))
    assert balances[-1:] == ([closing] if made else [])
    before = opening
    for posting, after in zip(made, balances, strict=True):
        assert after == before + posting.amount
        before = after
    assert closing <= opening  # a call never gives back more than it took
