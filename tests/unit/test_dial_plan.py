"""The handset dial plan and the call origin's report type: pure rules."""

import pytest

from sipline.domain.call_origin import CallOrigin, report_type
from sipline.domain.dial_plan import DialPlan, normalise

UK = DialPlan(country_code="44")


@pytest.mark.parametrize(
    ("dialled", "number"),
    [
        ("+442079460000", "442079460000"),
        ("00442079460000", "442079460000"),
        ("02079460000", "442079460000"),
        ("442079460000", "442079460000"),
        ("+44 (20) 7946-0000", "442079460000"),
    ],
)
def test_international_national_and_plain_numbers(dialled: str, number: str) -> None:
    assert normalise(UK, dialled) == number


def test_exit_codes_and_national_prefix_are_per_plan() -> None:
    north_america = DialPlan(country_code="1", national_prefix="1", international_prefixes=("011",))
    assert normalise(north_america, "0114420794600") == "4420794600"
    assert normalise(north_america, "12125550100") == "12125550100"  # national prefix 1 + area code
    assert normalise(DialPlan(national_prefix=""), "02079460000") == "02079460000"


@pytest.mark.parametrize("dialled", ["", "12", "*123", "12#4", "abc", "+", "0" * 65, "1" * 21])
def test_what_is_no_number_is_refused(dialled: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        normalise(UK, dialled)


def test_national_numbers_need_a_default_country() -> None:
    with pytest.raises(ValueError, match="default country"):
        normalise(DialPlan(), "02079460000")


@pytest.mark.parametrize(
    "bad", [{"country_code": "4x"}, {"national_prefix": "12345"}, {"international_prefixes": ("",)}]
)
def test_a_plan_is_digits(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"."):
        DialPlan(**bad)  # type: ignore[arg-type]


def test_report_type_3_for_the_api_4_for_calls_dialled_on_a_handset() -> None:
    assert report_type(CallOrigin.API) == 3
    assert report_type(CallOrigin.HANDSET) == 4
    assert report_type("phone_to_phone") == 4
    assert report_type("something else") == 3
