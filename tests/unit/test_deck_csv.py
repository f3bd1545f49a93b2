"""Rate deck CSV: what a file means, every bad file refused whole with its line numbers, and a deck
read back from its export unchanged (hypothesis)."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sipline.billing.deck_csv import MAX_LINE_BYTES, export_deck, parse_deck
from sipline.billing.decks import DeckRefused, DeckVersion, VersionTimeline, in_effect
from sipline.billing.rating import BillingPeriod, Rate, RateDeck

untimed = settings(deadline=None)  # no time limit per example: a loaded machine is slow


def refused(data: bytes, max_lines: int = 1000) -> list[str]:
    with pytest.raises(DeckRefused) as caught:
        parse_deck(data, max_lines)
    return [str(error) for error in caught.value.errors]


def test_a_header_names_the_columns_in_any_order_and_optional_ones_may_be_left_out() -> None:
    data = b"\xef\xbb\xbfperiod,rate,prefix\r\n60+60,0.0100,\r\n# premium\r\n\r\n20+20,0.5,4420\r\n"
    assert parse_deck(data) == [
        Rate("", Decimal("0.0100"), BillingPeriod(60, 60)),
        Rate("4420", Decimal("0.5000"), BillingPeriod(20, 20)),
    ]
    # A row may leave out trailing optional columns; never a required one.
    assert parse_deck(b"prefix,rate,period,connect_fee\n1,0.1,6+6\n") == [
        Rate("1", Decimal("0.1"), BillingPeriod(6, 6))
    ]
    assert refused(b"prefix,rate,period,connect_fee\n1,0.1\n") == ["line 2: 2 columns, the header names 4"]


def test_without_a_header_the_documented_order() -> None:
    data = b'93,"Afghanistan, mobile",0.2,0.25,30+6,0.01\n44,UK,0.02,,20+20\n'
    assert parse_deck(data) == [
        Rate(
            "93",
            Decimal("0.2"),
            BillingPeriod(30, 6),
            Decimal("0.25"),
            Decimal("0.01"),
            "Afghanistan, mobile",
        ),
        Rate("44", Decimal("0.02"), BillingPeriod(20, 20), None, Decimal(0), "UK"),
    ]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"4a,x,0.1,,20+20", "line 3: prefix '4a' is not digits"),
        (b"+44,x,0.1,,20+20", "line 3: prefix '+44' is not digits"),
        ("٤٤,x,0.1,,20+20".encode(), "line 3: prefix '٤٤' is not digits"),  # Arabic-Indic digits
        (b"45,x,0.1,,20", "line 3: billing period '20' is not of the form FIRST+NEXT"),
        (b"45,x,0.1,,0+20", "line 3: billing period '0+20'"),
        (b"45,x,0.1,,7200+60", "line 3: billing period '7200+60': each part is at most 3600 s"),
        (b"45,x,-0.1,,20+20", "line 3: rate -0.1 is negative"),
        (b"45,x,0.00001,,20+20", "line 3: rate 0.00001 has more than 4 decimals"),
        (b"45,x,0.1,0.12345,20+20", "line 3: base rate 0.12345 has more than 4 decimals"),
        (b"45,x,0.1,,20+20,-1", "line 3: connect fee -1 is negative"),
        (b"45,x,NaN,,20+20", "line 3: rate 'NaN' is not a number"),
        (b"45,x,1e400,,20+20", "line 3: rate 1e400 is above 1000000"),
        (b"45,x,ten,,20+20", "line 3: rate 'ten' is not a number"),
        (b"45,x,0.1", "line 3: 3 columns, expected 5 or 6"),
        (b"45,x,0.1,,20+20,0,extra", "line 3: 7 columns, expected 5 or 6"),
        (b'45,"x,0.1,,20+20', "line 3: not CSV"),
        (b"45,\xff\xfe,0.1,,20+20", "line 3: not UTF-8 text"),
        (
            b"45," + b"x" * MAX_LINE_BYTES + b",0.1,,20+20",
            f"line 3: line is longer than {MAX_LINE_BYTES} bytes",
        ),
        (b"4" * 33 + b",x,0.1,,20+20", "line 3: prefix 444"),
        (b"44,again,0.3,,1+1", "line 3: prefix 44 appears twice (first on line 1)"),
    ],
)
def test_a_bad_line_refuses_the_whole_file_naming_its_number(line: bytes, problem: str) -> None:
    errors = refused(b"44,UK,0.02,,20+20\n93,AF,0.2,,30+6\n" + line + b"\n1,US,0.01,,6+6\n")
    assert len(errors) == 1 and errors[0].startswith(problem), errors


def test_every_problem_is_named_in_line_order() -> None:
    data = b"prefix,rate,period\n1,x,6+6\n1,0.1,6+6\n2,0.1,6\n3,0.1,6+6\n"
    assert refused(data) == [
        "line 2: rate 'x' is not a number",
        "line 4: billing period '6' is not of the form FIRST+NEXT (seconds, e.g. 20+20)",
    ]  # line 3 is the first "1" that is right, so no duplicate


def test_a_bad_header_and_missing_columns() -> None:
    assert refused(b"prefix,price,period\n1,0.1,6+6\n") == [
        "line 1: unknown column(s) price (known: prefix, destination, rate, base_rate, period, connect_fee)",
        "line 1: missing column(s) rate",
    ]
    assert refused(b"prefix,rate,period\n1,0.1\n") == ["line 2: 2 columns, the header names 3"]


def test_too_many_lines_and_nothing_at_all() -> None:
    assert refused(b"1,x,0.1,,6+6\n" * 11, max_lines=10) == ["line 11: the deck has more than 10 lines"]
    assert refused(b"") == ["the deck has no rate lines"]
    assert refused(b"prefix,rate,period\n\n# nothing\n") == ["the deck has no rate lines"]


def test_a_refusal_lists_a_bounded_number_of_problems() -> None:
    with pytest.raises(DeckRefused) as caught:
        parse_deck(b"x,x,x,x,x\n" * 500)
    assert len(caught.value.errors) == 100 and caught.value.more == 400
    assert caught.value.summary().endswith("(and 495 more)")


prefixes = st.text("0123456789", min_size=0, max_size=12)
amounts = st.decimals(min_value=0, max_value=1000, places=4, allow_nan=False, allow_infinity=False)
rates = st.builds(
    Rate,
    prefix=prefixes,
    per_minute=amounts,
    period=st.builds(BillingPeriod, st.integers(1, 3600), st.integers(1, 3600)),
    base_per_minute=st.none() | amounts,
    connect_fee=amounts,
    destination=st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=40).map(
        str.strip
    ),
)


@untimed
@given(st.lists(rates, min_size=1, max_size=30, unique_by=lambda rate: rate.prefix))
def test_a_deck_round_trips_through_export_and_import(deck: list[Rate]) -> None:
    assert parse_deck(export_deck(deck).encode()) == sorted(deck, key=lambda rate: rate.prefix)
    assert export_deck(RateDeck(parse_deck(export_deck(deck).encode())).rates()) == export_deck(deck)


def test_the_version_in_effect_is_the_latest_started_and_at_equal_times_the_later_import() -> None:
    from datetime import UTC, datetime

    def at(hour: int) -> datetime:
        return datetime(2026, 12, 2, hour, tzinfo=UTC)

    timeline = VersionTimeline([(at(9), 1), (at(12), 3), (at(12), 2), (at(18), 4)])
    assert [timeline.in_effect(at(h)) for h in (8, 9, 11, 12, 17, 18, 23)] == [None, 1, 1, 3, 3, 4, 4]


def test_one_version_per_owner_is_in_effect() -> None:
    from datetime import UTC, datetime

    def version(deck_id: int, account: str | None, hour: int) -> DeckVersion:
        return DeckVersion(deck_id, account, datetime(2026, 12, 2, hour, tzinfo=UTC), 1, datetime.now(UTC))

    versions = [version(1, None, 9), version(2, None, 12), version(3, "acme", 10), version(4, "acme", 20)]
    assert in_effect(versions, datetime(2026, 12, 2, 13, tzinfo=UTC)) == {2, 3}
    assert in_effect(versions, datetime(2026, 12, 2, 8, tzinfo=UTC)) == set()
    assert in_effect([], datetime(2026, 12, 2, 8, tzinfo=UTC)) == set()
