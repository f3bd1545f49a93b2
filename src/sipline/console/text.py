"""The marker of the page text made in Python (notices, errors, labels): ``_("...")``, extracted into
the catalogs with the templates' strings. It returns the text in the language of the request being
served (English outside a request: a module-level label is its English, translated again with
``_(label)`` where a page shows it); values go in after translating: ``_("{n} calls").format(n=3)``.
The page shows it as text (autoescaped), never through the templates' gettext, which marks its result
safe markup."""

from sipline.console.i18n import translate


def _(message: str) -> str:
    return translate(message)
