"""What every form of the site shares: its renderer and its text field.

Every text a person types into one of the site's forms goes through
:class:`TextField`, which takes out the characters that change what a text
does rather than what it says: line breaks in a one-line field (a name that
becomes two lines of an email header or a CSV), other control characters, and
the bidirectional overrides that make a name read differently from what it is.
``tests/coalition/test_forms.py`` walks every form class so that a new form with
a plain ``CharField`` fails.
"""

import unicodedata
from typing import Any, Final

from django import forms
from django.forms.renderers import TemplatesSetting


class SiteFormRenderer(TemplatesSetting):
    """Every form, the site's and allauth's, renders through templates/forms/."""

    form_template_name = "forms/div.html"
    field_template_name = "forms/field.html"


# Bidirectional embeddings, overrides and isolates (format characters, Cf).
_BIDI_CONTROLS: Final = [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_CONTROLS: Final = [
    cp for cp in range(0x100) if unicodedata.category(chr(cp)) == "Cc"
] + _BIDI_CONTROLS
# Line and paragraph separators (Zl, Zp) and the control characters Python
# counts as white space (tab, line feed, vertical tab, form feed, carriage
# return, the information separators, next line).
_SEPARATORS: Final = {0x2028, 0x2029} | {cp for cp in _CONTROLS if chr(cp).isspace()}

# One line: separators become spaces (runs collapse later), the rest go.
_ONE_LINE: Final = dict.fromkeys(_CONTROLS) | dict.fromkeys(_SEPARATORS, " ")
# Several lines: tab and line feed stay, other separators become line feeds
# (or a space, for the unit separator), the rest go.
_MULTI_LINE: Final = (
    dict.fromkeys(_CONTROLS)
    | dict.fromkeys(_SEPARATORS - {0x09, 0x1F}, "\n")
    | {0x09: "\t", 0x1F: " "}
)


def text_one_line(value: str) -> str:
    """``value`` on one line: no control characters, single spaces, trimmed."""
    return " ".join(value.translate(_ONE_LINE).split())


def text_multi_line(value: str) -> str:
    """``value`` with its lines (``\\n``) and tabs, and no other control
    characters; Windows and old Mac line endings become ``\\n``."""
    return value.replace("\r\n", "\n").translate(_MULTI_LINE)


class TextField(forms.CharField):
    """A text field with the control characters taken out.

    One line unless its widget is a ``Textarea`` (``multiline=True`` gives it
    one): a one-line value has its inner white space collapsed to single
    spaces; a multi-line one keeps line feeds and tabs.
    """

    def __init__(self, *, multiline: bool = False, **kwargs: Any) -> None:
        if multiline:
            kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 4}))
        super().__init__(**kwargs)

    @property
    def multiline(self) -> bool:
        return isinstance(self.widget, forms.Textarea)

    def to_python(self, value: Any) -> Any:
        # Cleaned before Django trims and checks the length and NUL bytes.
        if isinstance(value, str):
            value = text_multi_line(value) if self.multiline else text_one_line(value)
        return super().to_python(value)
