"""What a number dialled on a handset means: the dial plan (per app, from the settings).

    +44 20 7946 0000     international (the "+" prefix)      -> 442079460000
    0044 20 7946 0000    international (an exit prefix, 00)  -> 442079460000
    020 7946 0000        national (prefix 0, country 44)     -> 442079460000
    442079460000         already international digits        -> 442079460000

The result is the callee as sendSip takes it (digits, rated by the deck's longest prefix).
Visual separators a phone may send (space, ``-``, ``.``, ``(``, ``)``) are dropped; anything else
(``*``, ``#``, letters) is no number of this plan.
"""

from dataclasses import dataclass

from sipline.domain import calls

_SEPARATORS = str.maketrans("", "", " -.()")
MAX_DIALLED = 64  # the longest user part looked at; longer is refused before any work


@dataclass(frozen=True)
class DialPlan:
    country_code: str = ""  # the default country (e.g. "44"): "" refuses national numbers
    national_prefix: str = "0"  # "" when the country has none
    international_prefixes: tuple[str, ...] = ("00",)  # exit codes, beside "+"

    def __post_init__(self) -> None:
        for name, value in (
            ("country_code", self.country_code),
            ("national_prefix", self.national_prefix),
            *(("international_prefixes", p) for p in self.international_prefixes),
        ):
            if value and not (value.isascii() and value.isdigit() and len(value) <= 4):
                raise ValueError(f"{name} must be at most 4 digits, not {value!r}")
        if any(not p for p in self.international_prefixes):
            raise ValueError("international_prefixes must not contain an empty prefix")


def normalise(plan: DialPlan, dialled: str) -> str:
    """The callee number for ``dialled`` under ``plan``; ValueError says why it is none."""
    if len(dialled) > MAX_DIALLED:
        raise ValueError("the number is too long")
    text = dialled.translate(_SEPARATORS)
    number = text[1:] if text.startswith("+") else _international(plan, text)
    return calls.callee(number)  # digits only, CALLEE_MIN-CALLEE_MAX of them


def _international(plan: DialPlan, text: str) -> str:
    # the longest exit prefix first ("00" before "0" where both exist)
    for prefix in sorted(plan.international_prefixes, key=len, reverse=True):
        if text.startswith(prefix):
            return text[len(prefix) :]
    if plan.national_prefix and text.startswith(plan.national_prefix):
        if not plan.country_code:
            raise ValueError("national numbers need a default country in the dial plan")
        return plan.country_code + text[len(plan.national_prefix) :]
    return text
