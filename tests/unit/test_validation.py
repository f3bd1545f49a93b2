from decimal import Decimal

import pytest

from sipline.domain import validation
from sipline.domain.errors import ApiError
from sipline.domain.paging import Page, PageRequest
from sipline.domain.phones import NewPhoneGroup


@pytest.mark.parametrize("value", ["abcd", "a" * 32, "销售一组话机", "sip group 1"])
def test_names_accepted(value: str) -> None:
    assert validation.name(value) == value


@pytest.mark.parametrize("value", ["abc", "a" * 33, " abcd", "abcd ", "ab\ncd", "ab\x00cd", "ab\u200bcd"])
def test_names_refused(value: str) -> None:
    with pytest.raises(ValueError):
        validation.name(value)


@pytest.mark.parametrize("value", ["1234567", "8610000000000"])
def test_display_num_accepted(value: str) -> None:
    assert validation.display_num(value) == value


@pytest.mark.parametrize(
    "value", ["123456", "86100000000001", "86-1000000", "８６１０００００", "", "+8610000000"]
)
def test_display_num_refused(value: str) -> None:
    with pytest.raises(ValueError):
        validation.display_num(value)


def test_money_precision() -> None:
    assert validation.money("10.1234") == Decimal("10.1234")
    for bad in ("10.12345", "abc", "NaN", "Infinity", "-1"):
        with pytest.raises(ValueError):
            validation.money(bad)
    with pytest.raises(ValueError):
        validation.money("0", positive=True)


def test_ip_allow_list() -> None:
    allow = validation.ip_networks(["10.0.0.0/8", " 192.168.1.7 "])
    assert allow == ["10.0.0.0/8", "192.168.1.7/32"]
    assert validation.ip_allowed("10.2.3.4", allow)
    assert not validation.ip_allowed("127.0.0.1", allow)
    assert not validation.ip_allowed(None, allow)
    assert not validation.ip_allowed("not-an-ip", allow)
    assert validation.ip_allowed("127.0.0.1", [])
    with pytest.raises(ValueError):
        validation.ip_networks(["10.0.0.0/99"])


def test_check_names_the_field() -> None:
    with pytest.raises(ApiError) as caught:
        validation.check(validation.display_num, "12", "displayNum")
    assert caught.value.status.value == "-22"
    assert caught.value.reason == "displayNum must be 7-13 digits"


def test_group_names_its_phones() -> None:
    group = NewPhoneGroup("sipGroup", "sip", 3, "861000000")
    assert group.phone_names() == ["sip-1", "sip-2", "sip-3"]


def test_pages() -> None:
    assert Page([], 0, PageRequest(1, 25)).pages == 0
    assert Page([], 25, PageRequest(1, 25)).pages == 1
    assert Page([], 26, PageRequest(1, 25)).pages == 2
    assert PageRequest(3, 20).offset == 40


def test_phone_name_prefix_rule_follows_the_generated_names() -> None:
    validation.phone_names("sip", 30)  # the vendor's own sample: sip-1 .. sip-30
    validation.phone_names("ab", 9)
    validation.phone_names("x" * 29, 50)  # x...x-50 is 32 characters
    for prefix, quantity in (("a", 1), ("x" * 30, 10), ("x" * 31, 1)):
        with pytest.raises(ValueError, match="phoneName gives phone names"):
            validation.phone_names(prefix, quantity)


def test_generated_sip_passwords() -> None:
    from sipline.domain import ids

    passwords = [ids.new_sip_password() for _ in range(20_000)]
    assert all(len(p) == 8 and p.isalnum() and p.isascii() for p in passwords)
    assert all(
        any(c.isupper() for c in p) and any(c.islower() for c in p) and any(c.isdigit() for c in p)
        for p in passwords
    )
    assert not any(p.lower().startswith("0x") for p in passwords)  # SIPp reads 0x... as a hex key
    assert len(set(passwords)) > 19_990
