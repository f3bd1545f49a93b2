"""The marker of the page text made in Python (notices, errors, labels): ``_("...")``, extracted into
the catalogs with the templates' strings. It returns the text as written; the page shows it as text
(autoescaped), never through the templates' gettext, which marks its result safe markup."""


def _(message: str) -> str:
    return message
