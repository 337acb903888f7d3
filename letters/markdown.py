"""Letter text in Markdown, rendered safely.

markdown-it-py with raw HTML disabled renders; nh3 then keeps only a short list of
tags and attributes and only http(s)/mailto links, so scripts, event handlers,
``javascript:`` URLs and images (which would make a reader's browser or the PDF
renderer fetch a URL) never reach a page. What it returns is the one kind of
markup an email may carry (``coalition.emails.SanitisedHTML``).
"""

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

from coalition.emails import SanitisedHTML

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "a", "ul", "ol", "li", "blockquote",
    "h2", "h3", "h4", "code", "pre", "hr",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}


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


def paragraphs(text: str) -> list[str]:
    """The body's paragraphs (blank-line separated), for anchoring comments."""
    return [
        p.strip() for p in (text or "").replace("\r\n", "\n").split("\n\n") if p.strip()
    ]
