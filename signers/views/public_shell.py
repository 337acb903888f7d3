"""The public page around its signer section, kept per state of the letter.

Only the signer section and the count of signers change when someone signs,
yet the first view after each change rendered the whole page's template,
about a third of that view. So the rest of the page (the "shell") is rendered
once per state of everything else it shows, with markers where the count and
the section go, and kept by the process; a view after a change renders the
section alone and puts it and the count in the markers' places. The markers
are random per process: no text on a page can hold one.
"""

import re
import secrets
from collections.abc import Callable, Hashable

from django.conf import settings
from django.utils.formats import localize
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, ngettext

from letters.models import Letter

_TOKEN = secrets.token_hex(16)
PHRASE_MARK = mark_safe(f"signers-phrase-{_TOKEN}")  # noqa: S308 - no markup
SECTION_MARK = mark_safe(f"signers-section-{_TOKEN}")  # noqa: S308 - no markup
_MARKS = re.compile(f"({PHRASE_MARK}|{SECTION_MARK})")

# The shells this process rendered last, split at the markers, by state.
RECENT_SHELLS = 64
_recent_shells: dict[Hashable, list[str]] = {}


# Everything of the letter's own that the page around the signers shows (its
# text is its current revision, which never changes): a shell is kept per
# their values, so a change that leaves updated_at alone is a new shell too.
SHELL_FIELDS = (
    "pk",
    "slug",
    "status",
    "current_revision_id",
    "updated_at",
    "published_at",
    "closed_at",
    "time_zone",
    "open_joining",
    "signer_kinds",
)


def shell_key(letter: Letter, *, has_signers: bool) -> Hashable:
    """What the shell of the letter's public page depends on."""
    return (
        *(getattr(letter, field) for field in SHELL_FIELDS),
        get_language(),
        settings.SITE_NAME,
        settings.SITE_URL,
        has_signers,  # the description names the count only then
    )


def signers_phrase(count: int) -> SafeString:
    """ "1000 signers", as the template's ``blocktranslate count`` wrote it:
    the number localised and escaped, the translation itself not escaped."""
    phrase = ngettext("%(n)s signer", "%(n)s signers", count)
    return mark_safe(phrase % {"n": localize(count)})  # noqa: S308 - as the template


def page_from_shell(
    key: Hashable, render_shell: Callable[[], str], phrase: str, section: str
) -> str:
    """The page: the shell for ``key`` (rendered by ``render_shell``, with
    ``PHRASE_MARK`` and ``SECTION_MARK`` for the count and the section, when
    this process has none for it) with ``phrase`` and ``section`` in place."""
    pieces = _recent_shells.get(key)
    if pieces is None:
        pieces = _MARKS.split(render_shell())
        if len(_recent_shells) >= RECENT_SHELLS:
            _recent_shells.clear()
        _recent_shells[key] = pieces
    fill: dict[str, str] = {PHRASE_MARK: phrase, SECTION_MARK: section}
    return "".join([fill.get(piece, piece) for piece in pieces])
