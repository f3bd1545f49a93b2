"""The console's languages and time zones: the catalogs (compiled from their .po files when first
needed), the request's language (the user's choice, else the `lang` cookie of the header's switch,
else the browser's Accept-Language, else English) and its time zone (the user's, else UTC).

Text made in Python for a page is written `_("...")` (`from sipline.console.text import _`): it is
translated into the language of the request being served, which the sign-in check (and each page
before sign-in) sets with `use_language`. `python -m sipline.console.catalogs` extracts it with the
templates' strings into the catalogs."""

import functools
import gettext
import io
from contextvars import ContextVar
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from fastapi import Request

from sipline.domain.errors import ApiError
from sipline.services.console_users import LANGUAGES, SignedIn, check_time_zone

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT = "en"
NAMES = {"en": "English", "zh_CN": "简体中文"}  # each in its own language, as the switch shows them
HTML_LANG = {"en": "en", "zh_CN": "zh-CN"}  # BCP 47, for <html lang>
LANG_COOKIE = "lang"
ACCEPT_LANGUAGE_MAX = 512  # characters of the header looked at
UTC_ZONE = ZoneInfo("UTC")

assert set(NAMES) == set(LANGUAGES) == set(HTML_LANG)
# The language of the request being served (each request runs in its own task, with its own copy).
_language: ContextVar[str] = ContextVar("console_language", default=DEFAULT)


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"


@functools.cache
def translations(language: str) -> gettext.GNUTranslations:
    """The language's catalog, compiled in memory from its .po (untranslated and fuzzy entries are
    left out: their English text is shown)."""
    with po_path(language).open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def translate(message: str) -> str:
    """The message in the language of the request being served (English outside a request)."""
    return translations(_language.get()).gettext(message)


def negotiate(header: str) -> str:
    """The console language an Accept-Language header prefers most: Chinese for any zh, else English."""
    best, best_q = DEFAULT, 0.0
    for item in header[:ACCEPT_LANGUAGE_MAX].split(",")[:32]:
        tag, _sep, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _eq, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = max(0.0, min(1.0, float(value.strip()[:5])))
                except ValueError:
                    quality = 0.0
        tag = tag.strip().lower()
        language = "zh_CN" if tag.startswith("zh") else "en" if tag.startswith("en") or tag == "*" else None
        if language is not None and quality > best_q:
            best, best_q = language, quality
    return best


def use_language(request: Request) -> str:
    """Serve the rest of this request in its language (see language_of)."""
    language = language_of(request)
    _language.set(language)
    return language


def _signed(request: Request) -> SignedIn | None:
    signed: SignedIn | None = getattr(request.state, "signed_in", None)
    return signed


def language_of(request: Request) -> str:
    signed = _signed(request)
    if signed is not None and signed.user.language in LANGUAGES:
        return signed.user.language
    cookie = request.cookies.get(LANG_COOKIE, "")
    if cookie in LANGUAGES:
        return cookie
    return negotiate(request.headers.get("accept-language", ""))


def zone_of(request: Request) -> ZoneInfo:
    """The signed-in user's time zone; UTC before sign-in, without a choice, or for a zone the system
    no longer knows."""
    signed = _signed(request)
    name = signed.user.time_zone if signed is not None else None
    if not name:
        return UTC_ZONE
    try:
        return ZoneInfo(check_time_zone(name))
    except (ApiError, ZoneInfoNotFoundError, ValueError):  # a zone removed from tzdata since it was saved
        return UTC_ZONE
