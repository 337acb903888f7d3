"""Letter text in Markdown, rendered safely.

markdown-it-py with raw HTML disabled renders; nh3 then keeps only a short list of
tags and attributes and only http(s)/mailto links, so scripts, event handlers,
``javascript:`` URLs and images (which would make a reader's browser or the PDF
renderer fetch a URL) never reach a page. What it returns is the one kind of
markup an email may carry (``coalition.emails.SanitisedHTML``).
"""

from functools import lru_cache

import nh3
from django.core.cache import cache
from markdown_it import MarkdownIt

from coalition.emails import SanitisedHTML
from letters.models import Letter, Revision

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "a", "ul", "ol", "li", "blockquote",
    "h2", "h3", "h4", "code", "pre", "hr",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}
# Part of the cache key of rendered revisions: raise it when the rendering
# changes (a tag allowed or taken away), so no page serves the old rendering.
RENDERING = 1
REVISION_HTML_SECONDS = 30 * 24 * 3600


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False})


def _demote_headings(html: str) -> str:
    # The letter's title is the page's only h1; body headings start at h2.
    return html.replace("<h1>", "<h2>").replace("</h1>", "</h2>")


def render_markdown(text: str) -> SanitisedHTML:
    html = _demote_headings(_parser().render(text or ""))
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
    return SanitisedHTML(clean)


def render_revision_body(revision: Revision) -> SanitisedHTML:
    """A revision's body as HTML, rendered once and then read from the cache.

    A revision never changes (its row refuses updates), and a long body takes
    up to a second to render; signing pages, the public page, emails and the
    PDF all show it. Keyed by the revision's id and hash, and ``RENDERING``.
    An unsaved revision (a preview of the draft) is rendered every time.
    """
    if revision.pk is None:
        return render_markdown(revision.body)
    key = f"letters:revision-html:{RENDERING}:{revision.pk}:{revision.sha256}"
    html = _recent_revisions.get(key)
    if html is None:
        html = cache.get(key)
        if html is None:
            html = str(render_markdown(revision.body))
            cache.set(key, html, REVISION_HTML_SECONDS)
        if len(_recent_revisions) >= RECENT_REVISIONS:
            _recent_revisions.clear()
        _recent_revisions[key] = html
    return SanitisedHTML(html)  # sanitised by render_markdown before caching


# The bodies of the revisions this process showed last, by cache key: a
# revision never changes, so the public page's first view after a new
# signature need not ask the cache for the text again (a round trip).
RECENT_REVISIONS = 64
_recent_revisions: dict[str, str] = {}


def render_body(text: Letter | Revision) -> SanitisedHTML:
    """The body as HTML: a revision's from the cache, the working draft's now."""
    if isinstance(text, Revision):
        return render_revision_body(text)
    return render_markdown(text.body)


def paragraphs(text: str) -> list[str]:
    """The body's paragraphs (blank-line separated), for anchoring comments."""
    return [
        p.strip() for p in (text or "").replace("\r\n", "\n").split("\n\n") if p.strip()
    ]
