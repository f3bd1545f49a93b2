"""Generators for the identifiers and secrets the platform hands out."""

import secrets
import string

_ALNUM = string.ascii_letters + string.digits


def random_token(length: int, alphabet: str = _ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def new_api_key() -> str:
    return random_token(8)


def new_api_secret() -> str:
    return random_token(8)


def new_app_id() -> str:
    return random_token(8)


def new_sip_password() -> str:
    """8 characters with at least one lower, one upper and one digit (as the vendor's `LX9FZdF2`).

    Never starting with "0x": SIPp (and some provisioning tools) read such a value as a hex key,
    so a phone with that password could not authenticate through them.
    """
    while True:
        candidate = random_token(8)
        if (
            not candidate.lower().startswith("0x")
            and any(c.islower() for c in candidate)
            and any(c.isupper() for c in candidate)
            and any(c.isdigit() for c in candidate)
        ):
            return candidate


def new_sip_account() -> str:
    """A 10-digit SIP user name; digits only so that every desk phone can dial and register it."""
    return secrets.choice("123456789") + random_token(9, string.digits)
