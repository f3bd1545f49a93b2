"""The console's message catalogs: `python -m sipline.console.catalogs` extracts every marked string of
the console (templates: `_("...")` and `{% trans %}`; Python: `_("...")` of sipline.console.text) and
merges it into each language's messages.po (new strings untranslated, strings no longer used dropped);
`--check` changes nothing and exits 1 when a catalog lacks a string, or when a string is
untranslated, fuzzy or has other placeholders (`%(name)s`, `{name}`) than the English in a language
other than English.

Then translate the new entries (msgstr) in locale/zh_CN/LC_MESSAGES/messages.po; English's msgstr
may stay empty (the English is the msgid)."""

import argparse
import io
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from sipline.console.i18n import DEFAULT, NAMES, po_path
from sipline.services.console_users import LANGUAGES

CONSOLE = Path(__file__).parent
METHODS = [("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
KEYWORDS = {"_": None, "gettext": None}
BRACES = re.compile(r"(?<!\{)\{([^{}]*)\}(?!\})")  # str.format's {name}, {name!r}; not {{ }}
PROJECT = "sipline console"
# Fixed header dates: running the tool changes a catalog only where its strings change (no merge
# conflicts over a timestamp between branches that each ran it).
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
HEADER = "# The sipline web console's messages ({language}).\n# Made by python -m sipline.console.catalogs."


def extract() -> Catalog:
    """Every string the console marks, with where it is used."""
    template = Catalog(project=PROJECT, charset="utf-8", creation_date=EPOCH)
    found = extract_from_dir(
        CONSOLE, METHODS, OPTIONS, keywords=KEYWORDS, comment_tags=("Translators:",), strip_comment_tags=True
    )
    for filename, line, message, comments, context in found:
        template.add(message, locations=[(filename, line)], auto_comments=comments, context=context)
    return template


def _read(language: str) -> Catalog:
    path = po_path(language)
    if not path.exists():
        catalog = Catalog(
            locale=language,
            project=PROJECT,
            version="1",
            charset="utf-8",
            creation_date=EPOCH,
            revision_date=EPOCH,
            header_comment=HEADER.format(language=language),
            msgid_bugs_address="https://github.com/sipline/sipline/issues",
            last_translator="sipline",
            language_team=NAMES[language],
            fuzzy=False,
        )
        return catalog
    with path.open("rb") as po:
        return read_po(po, locale=language)


def _render(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=110, sort_output=True, ignore_obsolete=True, include_lineno=False)
    return out.getvalue()


def merge(template: Catalog, language: str) -> Catalog:
    catalog = _read(language)
    catalog.update(template, no_fuzzy_matching=True, update_header_comment=False, update_creation_date=False)
    return catalog


def _ids(catalog: Catalog) -> set[str]:
    """The messages' ids (the console has no plurals: each id is one string)."""
    return {str(message.id) for message in catalog if message.id}


def problems(template: Catalog, language: str) -> list[str]:
    """What `--check` complains of in one language's catalog."""
    catalog = _read(language)
    found = [
        f"{language}: missing {message_id!r}"
        for message_id in sorted(_ids(template) - _ids(catalog), key=str)
    ]
    if language == DEFAULT:
        return found
    for message in catalog:
        if not message.id or str(message.id) not in _ids(template):
            continue
        found.extend(_translation_problems(language, message))
    for message, errors in catalog.check():
        found.extend(f"{language}: {message.id!r}: {error}" for error in errors)
    return found


def _translation_problems(language: str, message: Message) -> list[str]:
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    if not all(strings):
        return [f"{language}: untranslated {message.id!r}"]
    if message.fuzzy:
        return [f"{language}: fuzzy {message.id!r}"]
    if any(sorted(BRACES.findall(str(text))) != sorted(BRACES.findall(str(message.id))) for text in strings):
        return [f"{language}: {message.id!r}: the translation's {{placeholders}} differ from the English"]
    return []


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sipline.console.catalogs", description=__doc__)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 on any problem")
    args = parser.parse_args(argv)
    template = extract()
    if args.check:
        found = [problem for language in LANGUAGES for problem in problems(template, language)]
        for problem in found:
            print(problem, file=sys.stderr)
        print(f"{len(_ids(template))} strings, {len(found)} problem(s)")
        return 1 if found else 0
    for language in LANGUAGES:
        path = po_path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = merge(template, language)
        path.write_bytes(_render(catalog))
        untranslated = sum(1 for message in catalog if message.id and not message.string)
        print(f"{path.relative_to(CONSOLE)}: {len(catalog)} strings, {untranslated} untranslated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
