"""Input rules of the voice API, as pure functions that raise ValueError with a short reason.

The API layer attaches them to its request schemas; the reason ends up, prefixed with the field
name, in a `-22` answer.
"""

import ipaddress
import unicodedata
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from sipline.domain.errors import parameter_error

T = TypeVar("T")
R = TypeVar("R")

NAME_MIN, NAME_MAX = 4, 32
QUANTITY_MIN, QUANTITY_MAX = 1, 50
DISPLAY_NUM_MIN, DISPLAY_NUM_MAX = 7, 13
PHONE_LIMIT_MIN, PHONE_LIMIT_MAX = 1, 1_000_000
# The largest amount, and the largest balance: stored as 1/10,000 units it stays far inside 64 bits.
MONEY_MAX = Decimal(1_000_000_000)
CURRENCY_CODES = frozenset({"USD", "EUR", "CNY", "GBP", "JPY", "HKD", "SGD", "INR", "BRL", "MXN", "IDR"})


def name(value: str, minimum: int = NAME_MIN) -> str:
    """Group and phone names: 4-32 characters, no control characters, no surrounding blanks."""
    if value != value.strip():
        raise ValueError("must not start or end with white space")
    if not minimum <= len(value) <= NAME_MAX:
        raise ValueError(f"must be {minimum}-{NAME_MAX} characters")
    if any(unicodedata.category(c).startswith("C") for c in value):
        raise ValueError("must not contain control or invisible characters")
    return value


def phone_names(prefix: str, quantity: int) -> None:
    """Phones are named `<prefix>-1 .. <prefix>-N`; every such name must be a valid name.

    The vendor's rule says phone names are 4-32 characters while its own sample creates phones
    with the prefix "sip"; reading the rule as applying to the names the phones get reconciles both.
    """
    for index in (1, quantity):
        try:
            name(f"{prefix}-{index}")
        except ValueError as exc:
            raise ValueError(f"phoneName gives phone names such as {prefix}-{index} that {exc}") from None


def display_num(value: str) -> str:
    """Caller number shown on the phone: 7-13 ASCII digits."""
    if not (value.isascii() and value.isdigit()):
        raise ValueError("must contain digits only")
    if not DISPLAY_NUM_MIN <= len(value) <= DISPLAY_NUM_MAX:
        raise ValueError(f"must be {DISPLAY_NUM_MIN}-{DISPLAY_NUM_MAX} digits")
    return value


def identifier(value: str) -> str:
    """appId, account and similar handles: 1-64 printable ASCII characters."""
    if not value:
        raise ValueError("must not be empty")
    if len(value) > 64 or not value.isascii() or not value.isprintable() or " " in value:
        raise ValueError("is not a valid identifier")
    return value


def credential(value: str) -> str:
    """Imported apiKey, apiSecret or appId: 6-64 letters, digits, `-` or `_`."""
    if not 6 <= len(value) <= 64 or not all(c.isascii() and (c.isalnum() or c in "-_") for c in value):
        raise ValueError("must be 6-64 letters, digits, '-' or '_'")
    return value


def money(value: str | int | Decimal, *, positive: bool = False) -> Decimal:
    """An amount with at most 4 decimals (the platform's money precision)."""
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("must be a decimal number") from None
    if not amount.is_finite():
        raise ValueError("must be a finite decimal number")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -4:
        raise ValueError("must have at most 4 decimal places")
    if positive and amount <= 0:
        raise ValueError("must be greater than 0")
    if amount < 0:
        raise ValueError("must not be negative")
    if amount > MONEY_MAX:
        raise ValueError(f"must be at most {MONEY_MAX}")
    return amount


def phone_limit(value: int) -> int:
    """Phones an app may hold."""
    if not PHONE_LIMIT_MIN <= value <= PHONE_LIMIT_MAX:
        raise ValueError(f"must be {PHONE_LIMIT_MIN}-{PHONE_LIMIT_MAX}")
    return value


def currency(value: str) -> str:
    code = value.strip().upper()
    if code not in CURRENCY_CODES:
        raise ValueError(f"must be one of {', '.join(sorted(CURRENCY_CODES))}")
    return code


def ip_networks(values: list[str]) -> list[str]:
    """IP allow-list entries: addresses or CIDR networks, normalised."""
    normalised = []
    for raw in values:
        try:
            normalised.append(str(ipaddress.ip_network(raw.strip(), strict=False)))
        except ValueError:
            raise ValueError(f"{raw!r} is not an IP address or network") from None
    return normalised


def ip_allowed(client_ip: str | None, allow_list: list[str]) -> bool:
    """An empty allow-list admits everyone; otherwise the client must be inside one entry."""
    if not allow_list:
        return True
    if client_ip is None:
        return False
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(entry, strict=False) for entry in allow_list)


def check(rule: Callable[[T], R], value: T, field: str) -> R:
    """Apply `rule`; a ValueError becomes a `-22` answer whose reason starts with the field name."""
    try:
        return rule(value)
    except ValueError as exc:
        raise parameter_error(f"{field} {exc}") from None
