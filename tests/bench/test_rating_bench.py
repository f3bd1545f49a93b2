"""bench/rating cannot rot: its deck and records build, and the find it measures answers as the
previous one did on every record."""

import random

from bench.rating import PreviousDeck, make_deck, make_records, rate_all

from sipline.billing.rating import RateDeck


def test_the_measured_find_answers_as_the_previous_one() -> None:
    rng = random.Random(3)
    rates = make_deck(rng)
    records = make_records(rates, 5000, rng)
    deck, previous = RateDeck(rates), PreviousDeck(rates)
    assert len(deck) == 50_001
    assert all(deck.find(callee) == previous.find(callee) for callee, *_ in records)
    assert all(deck.find(callee).prefix.startswith(prefix) for callee, _d, _a, prefix in records)  # type: ignore[union-attr]
    assert rate_all(deck.find, records) > 0
