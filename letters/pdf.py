"""Letter PDFs: a template rendered to HTML, then to PDF bytes by WeasyPrint.

A letter's body is written by its organisers, and an organiser's account can be
taken over; so the renderer must never become a way to make the server fetch a
URL. :class:`StaticOnlyFetcher` answers only for the site's own static files,
read from disk, and for the stored files the caller names (the signers' logos,
re-encoded when they were given), read from the default storage; it refuses
everything else (other hosts, loopback, metadata addresses, ``file://``,
``data:``) without opening a connection.
"""

import functools
import io
import math
import mimetypes
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.files.storage import default_storage
from django.template.loader import render_to_string
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from pypdf import PdfReader, PdfWriter
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from letters.pdf_metrics import wrap


class FetchRefused(ValueError):
    """WeasyPrint logs this and leaves the image or stylesheet out."""


def _static_prefix() -> str:
    """The absolute URL under which the site's static files live."""
    static_url = settings.STATIC_URL or "/static/"
    if urlsplit(static_url).scheme:
        return static_url
    return settings.SITE_URL.rstrip("/") + "/" + static_url.lstrip("/")


def _media_prefix() -> str:
    """The absolute URL under which stored files are named in the PDF."""
    media_url = settings.MEDIA_URL or "/media/"
    if urlsplit(media_url).scheme:
        return media_url
    return settings.SITE_URL.rstrip("/") + "/" + media_url.lstrip("/")


def _static_file(relative: str) -> Path | None:
    if staticfiles_storage.exists(relative):
        try:
            return Path(staticfiles_storage.path(relative))
        except NotImplementedError:  # a remote storage: use the source file
            pass
    found = finders.find(relative)
    return Path(found) if isinstance(found, str) else None


class StaticOnlyFetcher(URLFetcher):
    """A URL fetcher that reads the site's static files and fetches nothing else.

    Redirects are off and no network handler is ever reached: ``fetch`` never
    calls the parent class.
    """

    def __init__(self, media: frozenset[str] = frozenset()) -> None:
        super().__init__(allowed_protocols=("http", "https"), allow_redirects=False)
        # Stored files this rendering may read, by their storage names.
        self.media = media

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        media = _media_prefix()
        if self.media and url.startswith(media):
            name = unquote(urlsplit(url[len(media) :]).path)
            if name not in self.media:
                raise FetchRefused(f"Not a file of this rendering: {url}")
            try:
                with default_storage.open(name, "rb") as stored:
                    body = stored.read()
            except OSError as exc:  # deleted meanwhile: left out
                raise FetchRefused(f"No such stored file: {url}") from exc
            kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, body=body, headers={"Content-Type": kind})
        prefix = _static_prefix()
        if not url.startswith(prefix):
            raise FetchRefused(f"Only the site's static files are fetched: {url}")
        path = unquote(urlsplit(url[len(prefix) :]).path)
        relative = posixpath.normpath(path).lstrip("/")
        if relative.startswith("..") or "\\" in relative or not relative:
            raise FetchRefused(f"Not a static file: {url}")
        found = _static_file(relative)
        if found is None or not found.is_file():
            raise FetchRefused(f"No such static file: {url}")
        content_type = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        return URLFetcherResponse(
            url, body=found.read_bytes(), headers={"Content-Type": content_type}
        )


def _document(html: str, media: frozenset[str] = frozenset()) -> Any:
    return HTML(
        string=html,
        base_url=settings.SITE_URL.rstrip("/") + "/",
        url_fetcher=StaticOnlyFetcher(media),
    ).render()


def html_to_pdf(html: str) -> bytes:
    """PDF bytes of ``html``; relative URLs resolve against the site's address."""
    pdf: bytes = _document(html).write_pdf()
    return pdf


# --- The signer pages -------------------------------------------------------------
#
# Signers are set in two columns a page, each signer in rows of two lines: the
# name in bold, then the affiliation and the place. WeasyPrint's cost goes by
# lines and boxes (a box per signer, and the line breaking inside it, made the
# list cost three times what the same names cost on plain lines), so the lines
# are broken here (``letters.pdf_metrics``) and each column is two boxes of
# pre-broken text laid over each other: the rows' first lines (names, in bold)
# and, one line lower, their second lines (places). A signer whose name or
# details take more lines takes more rows; a line set in the other weight than
# its layer's is the only markup inside a column. The columns are filled here,
# and each page is one table row WeasyPrint lays out once (a row that runs over
# is split onto a new page, which the renderer notices). Nothing on these pages
# is sized to its content: the lower layer spans its column (an absolutely
# placed box of no given width is laid out twice over, to find its width, and
# that was a fifth of the list's time), and the footer is two boxes placed in
# the bottom margin with the page's number written in, not page-margin boxes
# (WeasyPrint sizes those to their content, on every page). The figures match
# letter_pdf.html's CSS (A4, 20 mm side margins, 22 + 24 mm top and bottom).

PAGE_HEIGHT = 700.0  # points of the 711 between the margins: a little to spare
COLUMNS = 2
COLUMN_WIDTH = 229.0  # half of 170 mm, less the 12 pt gap
# Lines are broken this much short of the column: kerning only narrows a line,
# and a line that still ran over would only reach into the gap.
WRAP_WIDTH = COLUMN_WIDTH - 5.0
FONT_SIZE = 8.5
LINE = round(FONT_SIZE * 1.2, 2)  # from one line of a row to the next
ROW_GAP = 3.0  # between one row's second line and the next row's first
ROW = 2 * LINE + ROW_GAP
HEADING = 34.0  # "Signed by N signers", or a section's heading
NOTE = 3 * LINE + 8.0  # "...and N more who asked not to be named"
# A logo takes a blank row above its signer's name, drawn over that row.
LOGO = 18.0
# How many pages of signers WeasyPrint lays out at once (memory grows with it).
PAGES_PER_PART = 30
# Shares of a page the columns are filled to: less on each try after a page ran
# over (an estimate too tight); the last try is taken as it comes.
FILLS = (1.0, 0.85, 0.6)


def _plain(text: str) -> str:
    """A stranger's text on one line: any run of whitespace (a newline would
    start a line in pre-broken text) or control character is one space."""
    return _BLANKS.sub(" ", text).strip(" ")


# Whitespace as ``str.split`` sees it, and the control characters (category Cc).
_BLANKS = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")


@dataclass(frozen=True)
class SignerEntry:
    name: str
    affiliation: str
    place: str
    logo: str = ""  # the address of the logo shown above the name, if any

    @functools.cached_property
    def lines(self) -> list[tuple[str, bool]]:
        """The signer's lines as they are set, each with whether it is bold."""
        out = []
        for text, bold in ((self.name, True), (self.affiliation, False),
                           (self.place, False)):  # fmt: skip
            for line in wrap(_plain(text), width=WRAP_WIDTH, size=FONT_SIZE, bold=bold):
                out.append((line, bold))
        out = out or [("", True)]  # a name of nothing but spaces still takes a row
        if self.logo:  # a blank row, which the logo is drawn over
            out = [("", True), ("", False), *out]
        return out

    @functools.cached_property
    def height(self) -> float:
        return math.ceil(len(self.lines) / 2) * ROW


def column_html(entries: list[SignerEntry]) -> SafeString:
    """One column: the rows' first lines and, laid one line lower over them,
    their second lines, each text escaped."""
    first: list[str] = []
    second: list[str] = []
    logos: list[str] = []
    for entry in entries:
        lines = entry.lines
        if entry.logo:
            # Between the row above's second line (which reaches a line into
            # this row) and the name's first line in the next row.
            top = len(first) * ROW + (ROW + LINE - LOGO) / 2
            logos.append(
                format_html(
                    '<img class="logo" src="{}" alt="" style="top: {}pt">',
                    entry.logo,
                    f"{top:.2f}",
                )
            )
        for n in range(0, len(lines), 2):
            first.append(_line(*lines[n], layer_bold=True))
            second.append(
                _line(*lines[n + 1], layer_bold=False) if n + 1 < len(lines) else ""
            )
    return format_html(
        '<div class="rows"><div class="first">{}</div>'
        '<div class="second">{}</div>{}</div>',
        mark_safe("\n".join(first)),  # noqa: S308 - each line escaped by _line
        mark_safe("\n".join(second).rstrip("\n")),  # noqa: S308 - as above
        mark_safe("".join(logos)),  # noqa: S308 - each made by format_html
    )


def _line(text: str, bold: bool, *, layer_bold: bool) -> str:
    if bold == layer_bold:
        return escape(text)
    return f'<span class="{"name" if bold else "details"}">{escape(text)}</span>'


@dataclass
class SignerPage:
    columns: list[list[SignerEntry]]
    signed_by: bool = False  # the list's heading, on its first page
    heading: str = ""  # a section's heading, on the section's first page
    unlisted: int = 0  # the note on those not named, on the last page
    number: int = 0  # the page's number in the whole document

    @property
    def columns_html(self) -> list[SafeString]:
        return [column_html(column) for column in self.columns]


def signer_entries(
    signatures: Any, logos: Mapping[int, str] | None = None
) -> list[SignerEntry]:
    """``logos``: signature id -> stored name of the logo to show."""
    prefix, logos = _media_prefix(), logos or {}
    return [
        SignerEntry(
            name=s.display_name,
            affiliation=s.affiliation,
            place=", ".join(p for p in (s.city, s.country) if p),
            logo=prefix + quote(logos[s.pk]) if s.pk in logos else "",
        )
        for s in signatures
    ]


def _fill(
    entries: list[SignerEntry], height: float
) -> tuple[list[list[SignerEntry]], list[SignerEntry]]:
    """Fill the columns down to ``height`` points each, in order; the entries
    left over."""
    columns: list[list[SignerEntry]] = [[] for _ in range(COLUMNS)]
    used = [0.0] * COLUMNS
    index = 0
    for n, entry in enumerate(entries):
        while columns[index] and used[index] + entry.height > height:
            index += 1
            if index == COLUMNS:
                return columns, entries[n:]
        columns[index].append(entry)
        used[index] += entry.height
    return columns, []


def _columns(
    entries: list[SignerEntry], room: float
) -> tuple[list[list[SignerEntry]], list[SignerEntry]]:
    """One page's columns of ``room`` points from ``entries`` (and the rest);
    the last page of a section is balanced: the lowest height that takes all."""
    total = 0.0
    for entry in entries:  # no further than a page holds: the list may be long
        total += entry.height
        if total > COLUMNS * room:
            return _fill(entries, room)
    height = max(max(e.height for e in entries), total / COLUMNS)
    step = min(e.height for e in entries) / 2
    while height <= room:
        columns, left = _fill(entries, height)
        if not left:
            return columns, []
        height += step
    return _fill(entries, room)


def signer_pages(
    sections: list[tuple[str, list[SignerEntry]]], *, unlisted: int, fill: float = 1.0
) -> list[SignerPage]:
    """The signers' pages: each section (with its heading, when it has one)
    starts a page; ``fill`` below 1 leaves more room to spare."""
    pages: list[SignerPage] = []
    for heading, entries in sections:
        rest = entries
        first = True
        while rest:
            page = SignerPage(
                columns=[], signed_by=not pages, heading=heading if first else ""
            )
            room = PAGE_HEIGHT * fill
            room -= HEADING * (page.signed_by + bool(page.heading))
            page.columns, rest = _columns(rest, room)
            first = False
            pages.append(page)
    if pages and unlisted:
        last = pages[-1]
        room = PAGE_HEIGHT * fill - HEADING * (last.signed_by + bool(last.heading))
        tallest = max(sum(e.height for e in c) for c in last.columns)
        if tallest + NOTE > room:
            last = SignerPage(columns=[[] for _ in range(COLUMNS)])
            pages.append(last)
        last.unlisted = unlisted
    return pages


# --- Rendering in parts -------------------------------------------------------------


def _render(context: dict[str, Any]) -> tuple[bytes, int]:
    """PDF bytes and page count of one part of the letter."""
    html = render_to_string("letters/letter_pdf.html", context)
    document = _document(html, frozenset(context.get("logos", {}).values()))
    data: bytes = document.write_pdf()
    return data, len(document.pages)


def _parts(
    shared: dict[str, Any], pages: list[SignerPage], *, strict: bool
) -> list[bytes] | None:
    """The letter and its signer pages, rendered part by part; None (when
    ``strict``) if a page of signers ran over onto a second page."""
    total = 1 + len(pages)
    letter, letter_pages = _render({**shared, "total": total})
    if letter_pages != 1:  # the letter runs over several pages: say so in each
        total = letter_pages + len(pages)
        letter, letter_pages = _render({**shared, "total": total})
    parts = [letter]
    first_page = letter_pages + 1
    for start in range(0, len(pages), PAGES_PER_PART):
        part = pages[start : start + PAGES_PER_PART]
        for number, page in enumerate(part, start=first_page):
            page.number = number
        data, count = _render({**shared, "pages": part, "total": total})
        if count != len(part) and strict:
            return None
        parts.append(data)
        first_page += count
    return parts


def _join(parts: list[bytes]) -> bytes:
    if len(parts) == 1:
        return parts[0]
    writer = PdfWriter()
    for data in parts:
        writer.append(PdfReader(io.BytesIO(data)))
    metadata = PdfReader(io.BytesIO(parts[0])).metadata
    if metadata:
        writer.add_metadata(dict(metadata))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def render_letter_pdf(context: dict[str, Any]) -> bytes:
    """The letter PDF for ``context`` (see ``signers.exports.letter_pdf_context``).

    The letter comes first, then the signers from a new page, two columns a
    page (see :func:`signer_pages`). The document is rendered in parts of at most
    ``PAGES_PER_PART`` pages joined with pypdf, so memory stays flat however
    long the list; page numbers run on across parts. Should a page of signers
    not fit after all (an estimate too tight), the signers are laid out again
    with more room to spare.

    Static files are named by their plain path under ``static_prefix``, not
    through ``{% static %}``: a worker may run without the web's manifest.
    ``logos`` (signature id -> stored name), if given, are shown above the
    names, and are the only stored files the renderer reads.
    """
    logos = context.get("logos") or {}
    shared = {
        **context,
        "static_prefix": _static_prefix(),
        "signer_row": ROW,
        "signer_line": LINE,
    }
    sections = [
        (_section_heading(section.kind, len(context["sections"])),
         signer_entries(section.signatures, logos))
        for section in context["sections"]
    ]  # fmt: skip
    unlisted = context["counts"].unlisted
    for fill in FILLS:
        pages = signer_pages(sections, unlisted=unlisted, fill=fill)
        parts = _parts(shared, pages, strict=fill != FILLS[-1])
        if parts is not None:
            return _join(parts)
    raise AssertionError("unreachable: the last attempt is not strict")


def _section_heading(kind: str, sections: int) -> str:
    if sections < 2:
        return ""
    if kind == "organisation":
        return _("Organisations")
    return _("Individuals (affiliations for identification only)")
