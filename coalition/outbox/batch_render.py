"""An email's templates rendered once for a group of a batch's rows, then
filled in row by row.

A kind's builder names the values that are the row's own (a name, an
organisation, its links) and what else its templates decide on (the group
key: the letter, the kind, whether the name is there...). The group's
templates are rendered once with an unguessable placeholder for each value;
each row's subject, text and HTML are then that rendering with the
placeholders replaced by its values in one pass. A value is never read
again, so a stranger's text that holds a placeholder, ``{{``, ``{%`` or ``%``
comes out as written. In the HTML a value is escaped as autoescaping escapes
a variable; in the subject and the text it is left as it is.

Whatever a template does with a value besides printing it (an ``{% if %}``,
a filter, a plural) must be in the group key, or the row is rendered in full
by its builder. Three guards stand behind that:

- a value a template could treat otherwise than a placeholder (empty, with a
  line break, a run of spaces or space at either end) sends its row the full
  way;
- the stand-in rendered for the group carries :data:`UNPLACED` in every other
  field of the row's that the builder gives it: the group is refused if that
  shows anywhere (a template reads a value that has no placeholder);
- before a group's rendering is used, the group is rendered in full with
  probing values (markup, ``&``, quotes, template syntax, ``%``, another
  placeholder, accents) and must equal the rendering filled with them.

A refused group is rendered in full, row by row, as without this module.
"""

import logging
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from django.utils.html import escape

from coalition.outbox.builders import Email, in_batch, memoised

logger = logging.getLogger(__name__)

# What the builder's stand-in says in the fields that have no placeholder.
UNPLACED = "*unplaced*"

# The values a rendering is made with: a value a name, plus UNPLACED.
Render = Callable[[Mapping[str, str]], Email]


@dataclass(frozen=True)
class Filled:
    subject: str
    text: str
    html: str | None


def plain(value: str) -> bool:
    """A value a template prints as it prints a placeholder."""
    return bool(value) and " ".join(value.split()) == value


@dataclass(frozen=True)
class Shape:
    """A group's subject, text and HTML with placeholders ``p<secret>s<n>e``."""

    subject: str
    text: str
    html: str | None
    names: tuple[str, ...]
    pattern: re.Pattern[str]

    def fill(self, values: Mapping[str, str]) -> Filled | None:
        """The row's subject, text and HTML; None when one of ``values`` is
        not :func:`plain` (the row must be rendered in full)."""
        ordered = [values[name] for name in self.names]
        if not all(plain(value) for value in ordered):
            return None
        escaped = [str(escape(value)) for value in ordered]

        def text(found: re.Match[str]) -> str:
            return ordered[int(found.group(1))]

        def html(found: re.Match[str]) -> str:
            return escaped[int(found.group(1))]

        sub = self.pattern.sub
        return Filled(
            subject=sub(text, self.subject),
            text=sub(text, self.text),
            html=sub(html, self.html) if self.html is not None else None,
        )


def shape_for(key: object, names: Sequence[str], render: Render) -> Shape | None:
    """The group ``key``'s shape in the batch being built, made the first time
    a row asks; None outside a batch or when the group is refused (see the
    module): its rows are then rendered in full."""
    if not in_batch():
        return None
    return memoised(("batch-render", key), lambda: _shape(tuple(names), render))


def _shape(names: tuple[str, ...], render: Render) -> Shape | None:
    secret = secrets.token_hex(16)
    slots = {name: f"p{secret}s{index}e" for index, name in enumerate(names)}
    unplaced = f"p{secret}u"
    pattern = re.compile(f"p{secret}s([0-9]+)e")
    made = render({**slots, UNPLACED: unplaced})
    shape = Shape(made.subject, made.text, made.html, names, pattern)
    if any(unplaced in part for part in (made.subject, made.text, made.html or "")):
        logger.warning("outbox: a template reads a row's value with no placeholder")
        return None
    probes = {
        name: (
            f"<b>&amp; \"{name}\" 'x' {{{{ x }}}} {{% if x %}} %(x)s %s % é"
            f" {slots[names[(index + 1) % len(names)]]} {index}"
        )
        for index, name in enumerate(names)
    }
    probed = render({**probes, UNPLACED: unplaced})
    if shape.fill(probes) != Filled(probed.subject, probed.text, probed.html):
        logger.warning("outbox: a template does more with a value than print it")
        return None
    return shape
