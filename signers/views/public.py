"""The public side of a letter: its page, PDF, CSV and embeddable widget.

The page and the widget are the same for every visitor, so each is rendered once
per state of the letter and cached; the cache key holds everything that changes
what they show (status, current revision, ``signers_version``, the letter's last
edit), so a new signature, a withdrawal or a new revision is a new key and the
old entry simply expires. They are rendered without the request: no session,
CSRF token or user can end up in HTML that everyone is served. A rendering from
before someone left the list is never served again, not even while the new one
renders; nor is a PDF of any list but the current one.
"""

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from html import escape as escape_html
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import connection
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import (
    add_never_cache_headers,
    get_conditional_response,
    patch_cache_control,
    patch_vary_headers,
)
from django.utils.http import http_date, quote_etag
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_safe

from coalition import compression, spreadsheets
from coalition.cache import get_many_and_add
from coalition.compression import IDENTITY
from coalition.models import User
from coalition.types import AuthedHttpRequest
from letters.markdown import render_body
from letters.models import Letter
from letters.permissions import require_letter_role
from letters.public_pages import GENERATION_KEY, public_pages_generation
from signers import exports
from signers.models import Signature
from signers.models.public_rows import LOGO_SOURCE
from signers.selectors.public import (
    PublicCounts,
    PublicRow,
    signature_counts_public,
    signature_rows_public,
    signer_group_key,
    signer_listing_public,
)
from signers.views.public_shell import (
    PHRASE_MARK,
    SECTION_MARK,
    page_from_shell,
    shell_key,
    signers_phrase,
)

# Seconds before the PDF page asks a browser to try again.
PDF_RETRY_AFTER = 10
# A cached rendering lives this long; a change to the letter is a new key anyway.
PAGE_CACHE_SECONDS = 24 * 60 * 60
# Longer than any rendering takes; others are served the previous one meanwhile.
RENDER_LOCK_SECONDS = 30
# Lists at least this long get A-Z jump links.
JUMP_LINKS_FROM = 40


@dataclass(frozen=True)
class SignerList:
    kind: str
    heading: str
    # (key, label) of each A-Z group, in order.
    groups: list[tuple[str, str]]
    count: int
    jump_links: bool
    # The groups and their names, escaped once here rather than by the template.
    html: SafeString
    # The jump links' items, when the list has them: a link per group.
    jump_html: SafeString


def _group_label(key: str) -> str:
    if key == "0":
        return "#"
    return _("Other") if key == "other" else key.upper()


def _logo_prefix() -> str:
    """The address of the logos, up to each one's name."""
    return reverse("signers:logo", kwargs={"name": "x"})[:-1]


def _signer_item(row: PublicRow, logo_prefix: str) -> str:
    """One signer's ``<li>``: every value is a stranger's text, escaped (as
    Django's ``escape`` does, without its lazy-string wrapper per call). A
    logo's name is the site's own (signers.models.signatures.logo_path).
    The rows stored with each signature (signers.models.public_rows) are
    these, byte for byte."""
    escape = escape_html
    pk, _kind, name, _sort_name, affiliation, city, country, website, logo = row
    item = f'<li id="s-{pk}" data-signer>'
    if logo:
        source = escape(logo_prefix + logo.rsplit("/", 1)[-1])
        item += f'<img class="signer__logo" src="{source}" alt="" loading="lazy"> '
    if website:
        item += (
            f'<a class="signer__name" '
            f'href="{escape(website)}" rel="nofollow ugc noopener">{escape(name)}</a>'
        )
    else:
        item += f'<span class="signer__name">{escape(name)}</span>'
    if affiliation:
        item += f'<span class="signer__affiliation">, {escape(affiliation)}</span>'
    if city or country:
        place = (
            f"{escape(city)}, {escape(country)}"
            if city and country
            else escape(city or country)
        )
        item += f' <span class="signer__place">{place}</span>'
    return item + "</li>\n"


def _signer_list(kind: str, groups: list[tuple[str, int, str]]) -> SignerList:
    """The list of one kind from its A-Z groups, each (key, how many, its
    ``<li>`` rows): every value in the rows is escaped already."""
    list_kind = "org" if kind == Signature.Kind.ORGANISATION else "ind"
    count = sum(size for _key, size, _rows in groups)
    jump_links = count >= JUMP_LINKS_FROM
    labels: list[tuple[str, str]] = []
    parts: list[str] = []
    for key, _size, rows in groups:
        label = _group_label(key)
        labels.append((key, label))
        parts.append('<div class="signer-group" data-signer-group>')
        if jump_links:
            parts.append(
                f'<h4 class="signer-group__label" id="az-{list_kind}-{key}">'
                f"{escape_html(label)}</h4>"
            )
        parts.append(f'<ul class="signer-names">{rows}</ul></div>\n')
    jumps = "".join(
        f'<li><a href="#az-{list_kind}-{key}">{escape_html(label)}</a></li>'
        for key, label in labels
        if jump_links
    )
    return SignerList(
        kind=list_kind,
        heading=_("Organisations") if list_kind == "org" else _("Individuals"),
        groups=labels,
        count=count,
        jump_links=jump_links,
        html=mark_safe("".join(parts)),  # noqa: S308 - every value escaped
        jump_html=mark_safe(jumps),  # noqa: S308 - the labels escaped
    )


_KINDS = (Signature.Kind.ORGANISATION, Signature.Kind.INDIVIDUAL)


def _signer_lists_from_rows(letter: Letter) -> list[SignerList]:
    """The lists, each row written here in Python: on databases other than
    PostgreSQL (development), and what the stored rows are checked against."""
    by_kind: dict[str, list[tuple[str, int, str]]] = {}
    logo_prefix = _logo_prefix()
    for row in signature_rows_public(letter=letter):
        groups = by_kind.setdefault(row[1], [])
        key = signer_group_key(row[3])
        if not groups or groups[-1][0] != key:
            groups.append((key, 0, ""))
        _key, size, rows = groups[-1]
        groups[-1] = (key, size + 1, rows + _signer_item(row, logo_prefix))
    return [_signer_list(kind, by_kind[kind]) for kind in _KINDS if kind in by_kind]


def _signer_lists(letter: Letter) -> tuple[list[SignerList], PublicCounts]:
    """The signer lists and the counts. On PostgreSQL one query, which joins
    the rows stored with the signatures; only the logos' address is added
    here (escaped, as the rest of each row already is)."""
    if connection.vendor != "postgresql":
        lists = _signer_lists_from_rows(letter)
        return lists, signature_counts_public(letter=letter)
    listing = signer_listing_public(letter=letter)
    logos = LOGO_SOURCE + escape_html(_logo_prefix())
    by_kind: dict[str, list[tuple[str, int, str]]] = {}
    for group in listing.groups:
        rows = group.html.replace(LOGO_SOURCE, logos)
        by_kind.setdefault(group.kind, []).append((group.key, group.count, rows))
    lists = [_signer_list(kind, by_kind[kind]) for kind in _KINDS if kind in by_kind]
    return lists, listing.counts


def _letter_or_404(request: HttpRequest, slug: str) -> tuple[Letter, bool]:
    """The letter, and whether the visitor sees an organiser's preview of it."""
    letter = get_object_or_404(
        Letter.objects.select_related("current_revision"), slug=slug
    )
    if letter.status in Letter.PUBLIC_STATUSES and letter.current_revision_id:
        return letter, False
    # Only a letter that is not public yet looks at who is asking.
    user = request.user
    if (
        isinstance(user, User)
        and Letter.objects.for_user(user).filter(pk=letter.pk).exists()
    ):
        return letter, True
    raise Http404


def _public_letter_or_404(slug: str) -> Letter:
    return get_object_or_404(
        Letter.objects.public()
        .select_related("current_revision")
        .filter(current_revision__isnull=False),
        slug=slug,
    )


PAGE_TEMPLATE = "letters/letter_public.html"
SIGNERS_TEMPLATE = "letters/_public_signers.html"


def _signers_context(letter: Letter) -> dict[str, Any]:
    """What the page shows of the signers: their section and the count."""
    signer_lists, counts = _signer_lists(letter)
    phrase = signers_phrase(counts.signers)
    context = {"signer_lists": signer_lists, "counts": counts, "signers_phrase": phrase}
    return {**context, "signers_html": render_to_string(SIGNERS_TEMPLATE, context)}


def _shell_context(letter: Letter, *, preview: bool = False) -> dict[str, Any]:
    text = letter.current_revision or letter
    path = reverse("signers:public", kwargs={"slug": letter.slug})
    return {
        "site_name": settings.SITE_NAME,
        "letter": letter,
        "text": text,
        "body_html": render_body(text),
        "page_url": settings.SITE_URL + path,
        "embed_url": settings.SITE_URL
        + reverse("signers:embed", kwargs={"slug": letter.slug}),
        "preview": preview,
        "open_for_joining": letter.status == Letter.Status.PUBLISHED
        and letter.open_joining,
    }


def _page_context(letter: Letter, *, preview: bool = False) -> dict[str, Any]:
    return {**_shell_context(letter, preview=preview), **_signers_context(letter)}


def _page_html(letter: Letter) -> str:
    """The public page, as ``PAGE_TEMPLATE`` renders ``_page_context``: the
    signer section rendered now, the rest kept per state of what it shows
    (public_shell)."""
    signers = _signers_context(letter)
    has_signers = bool(signers["counts"].signers)
    key = shell_key(letter, has_signers=has_signers)

    def render_shell() -> str:
        context = {
            **_shell_context(letter),
            **signers,
            "signers_phrase": PHRASE_MARK,
            "signers_html": SECTION_MARK,
        }
        return render_to_string(PAGE_TEMPLATE, context)

    return page_from_shell(
        key, render_shell, signers["signers_phrase"], signers["signers_html"]
    )


def _state_key(letter: Letter, name: str) -> str:
    """Cache key of rendering ``name`` for the letter as it is now."""
    return ":".join(
        str(part)
        for part in (
            "signers:public",
            name,
            letter.pk,
            letter.status,
            letter.current_revision_id,
            letter.signers_version,
            letter.updated_at.timestamp(),
            get_language(),
        )
    )


def _pointer_key(name: str, slug: str, coding: str) -> str:
    return f"signers:public:{name}:slug:{slug}:{get_language()}:{coding}"


def _warm(
    request: HttpRequest, name: str, slug: str
) -> tuple[HttpResponse | None, str]:
    """The stored rendering ``name`` of the public letter at ``slug``, without
    reading the letter, if nothing it shows changed since it was stored; and
    the generation, to read before the letter when it has to be read.

    One cache round trip: the generation, and the pointer for the coding the
    browser accepts, which holds that coding's bytes and their validators.
    """
    coding = compression.encoding_for(request.headers.get("Accept-Encoding", ""))
    pointer_key = _pointer_key(name, slug, coding)
    found = cache.get_many([GENERATION_KEY, pointer_key])
    generation, pointer = found.get(GENERATION_KEY), found.get(pointer_key)
    if generation is None:
        return None, public_pages_generation()
    if pointer is None or pointer["generation"] != generation:
        return None, str(generation)
    meta = pointer["meta"]
    not_modified = get_conditional_response(
        request, etag=_etag(meta, coding), last_modified=meta["at"]
    )
    response = not_modified or HttpResponse(pointer["body"])
    return _with_validators(response, meta, coding), str(generation)


def _cached(
    request: HttpRequest,
    letter: Letter,
    name: str,
    render_html: Callable[[], str],
    generation: str,
) -> HttpResponse:
    """The cached rendering ``name`` of the letter, with ETag and Last-Modified,
    or a 304 to a browser that has it; compressed when the browser accepts it.

    The validators are cached apart from the page, so a 304 reads a few bytes
    from the cache, not a page of thousands of names. Each coding of the page
    is stored once made (the first request that wants it compresses it), so a
    warm view reads its bytes in one cache round trip and compresses nothing.
    When the letter changes, one request renders the new state while the
    others are served the previous rendering, so a busy page with thousands of
    signers is not rendered by every worker at once after each new signature;
    but only while nobody has left the list since that rendering
    (``signers_removed_version``): a withdrawn name is not shown again for a
    moment.
    """
    coding = compression.encoding_for(request.headers.get("Accept-Encoding", ""))
    key = _state_key(letter, name)
    # The render lock is taken with the lookup, in one round trip; taken while
    # the entries are there, it is never asked for, and expires.
    found, rendering_here = get_many_and_add(
        _body_keys(key, coding), f"{key}:rendering", True, RENDER_LOCK_SECONDS
    )
    meta, body = _complete_body(key, coding, found)
    if meta is not None:
        not_modified = get_conditional_response(
            request, etag=_etag(meta, coding), last_modified=meta["at"]
        )
        if body is not None:
            _point(name, letter, coding, _pointer(meta, body, generation))
            return _with_validators(not_modified or HttpResponse(body), meta, coding)
        if not_modified is not None:
            return _with_validators(not_modified, meta, coding)

    latest = f"signers:public:{name}:{letter.pk}:{get_language()}:latest"
    if not rendering_here:
        previous = cache.get(latest)
        stale_meta, stale = _cached_body(previous, coding) if previous else (None, None)
        if (
            stale_meta is not None
            and stale is not None
            and stale_meta.get("signers_version", -1) >= letter.signers_removed_version
        ):
            return _with_validators(HttpResponse(stale), stale_meta, coding)
    html = render_html().encode()
    digest = hashlib.sha256(html).hexdigest()[:32]
    meta = {
        "etag": quote_etag(digest),
        "at": int(time.time()),
        "signers_version": letter.signers_version,
    }
    entries = {f"{key}:meta": meta, f"{key}:{IDENTITY}": html, latest: key}
    body = html
    if coding != IDENTITY:
        body = entries[f"{key}:{coding}"] = compression.compress(html, coding)
    entries[_pointer_key(name, letter.slug, coding)] = _pointer(meta, body, generation)
    # The render lock is left to expire: it is only asked for while this
    # state's entries are missing, and they are stored now.
    cache.set_many(entries, PAGE_CACHE_SECONDS)
    return _with_validators(HttpResponse(body), meta, coding)


def _pointer(meta: dict[str, Any], body: bytes, generation: str) -> dict[str, Any]:
    return {"generation": generation, "meta": meta, "body": body}


def _point(name: str, letter: Letter, coding: str, pointer: dict[str, Any]) -> None:
    """Let the next views of the letter's current rendering in ``coding`` skip
    the letter, and read their bytes with the generation."""
    cache.set(_pointer_key(name, letter.slug, coding), pointer, PAGE_CACHE_SECONDS)


def _cached_body(key: str, coding: str) -> tuple[dict[str, Any] | None, bytes | None]:
    """The validators and the page in ``coding`` stored under ``key``."""
    return _complete_body(key, coding, cache.get_many(_body_keys(key, coding)))


def _body_keys(key: str, coding: str) -> list[str]:
    return [f"{key}:meta", f"{key}:{coding}"]


def _complete_body(
    key: str, coding: str, found: dict[str, Any]
) -> tuple[dict[str, Any] | None, bytes | None]:
    """The validators and the page in ``coding`` from ``found`` (what was
    stored of ``_body_keys``); a coding not stored yet is made from the
    stored page (once) and stored."""
    meta, body = found.get(f"{key}:meta"), found.get(f"{key}:{coding}")
    if meta is None or body is not None or coding == IDENTITY:
        return meta, body
    html = cache.get(f"{key}:{IDENTITY}")
    if html is None:
        return meta, None
    body = compression.compress(html, coding)
    cache.set(f"{key}:{coding}", body, PAGE_CACHE_SECONDS)
    return meta, body


def _etag(meta: dict[str, Any], coding: str) -> str:
    """A strong validator per representation: each coding has its own bytes."""
    etag: str = meta["etag"]
    return etag if coding == IDENTITY else f'{etag[:-1]}-{coding}"'


def _with_validators(
    response: HttpResponse, meta: dict[str, Any], coding: str
) -> HttpResponse:
    response.headers["ETag"] = _etag(meta, coding)
    response.headers["Last-Modified"] = http_date(meta["at"])
    if coding != IDENTITY and response.status_code == 200:
        response.headers["Content-Encoding"] = coding
    patch_vary_headers(response, ["Accept-Encoding"])
    return response


@require_safe
def public(request: HttpRequest, slug: str) -> HttpResponse:
    response, generation = _warm(request, "page", slug)
    if response is not None:
        # Shared caches may keep it but must ask again: a new signer shows at once.
        patch_cache_control(response, public=True, no_cache=True)
        return response
    letter, preview = _letter_or_404(request, slug)
    if preview:
        response = render(request, PAGE_TEMPLATE, _page_context(letter, preview=True))
        add_never_cache_headers(response)
        return response
    response = _cached(
        request,
        letter,
        "page",
        lambda: _page_html(letter),
        generation,
    )
    patch_cache_control(response, public=True, no_cache=True)
    return response


@require_safe
@xframe_options_exempt
def embed(request: HttpRequest, slug: str) -> HttpResponse:
    response, generation = _warm(request, "embed", slug)
    if response is not None:
        patch_cache_control(response, public=True, max_age=60)
        return response
    letter = _public_letter_or_404(slug)
    context = {
        "letter": letter,
        "title": letter.current_revision.title if letter.current_revision else "",
        "counts": signature_counts_public(letter=letter),
        "page_url": settings.SITE_URL
        + reverse("signers:public", kwargs={"slug": letter.slug}),
    }
    response = _cached(
        request,
        letter,
        "embed",
        lambda: render_to_string("letters/letter_embed.html", context),
        generation,
    )
    # Partners' pages can be busy; a count a minute old is fine there.
    patch_cache_control(response, public=True, max_age=60)
    return response


@require_safe
def pdf_download(request: HttpRequest, slug: str) -> HttpResponseBase:
    """The PDF of the current text and signer list; while it is being
    prepared, a page that reloads itself. Never the PDF of an older list: it
    may name someone who has withdrawn.

    Rendering thousands of signers takes seconds, longer than a web request
    should; so a large letter's PDF is rendered by a task, queued once however
    many ask, and only a small one's in the request (``PDF_INLINE_MAX_SIGNERS``).
    """
    letter = _public_letter_or_404(slug)
    stored = exports.letter_pdf_for_download(letter=letter)
    if stored is None:
        response = render(
            request,
            "letters/letter_pdf_preparing.html",
            {"letter": letter, "retry_after": PDF_RETRY_AFTER},
            status=503,
        )
        response.headers["Retry-After"] = str(PDF_RETRY_AFTER)
        add_never_cache_headers(response)
        return response
    etag = quote_etag(f"{stored.revision_id}-{stored.signers_version}")
    answer: HttpResponseBase = get_conditional_response(
        request, etag=etag
    ) or FileResponse(
        stored.file.open("rb"),
        content_type="application/pdf",
        filename=f"{letter.slug}.pdf",
    )
    answer.headers["ETag"] = etag
    patch_cache_control(answer, public=True, no_cache=True)
    return answer


@require_safe
def signers_csv(request: HttpRequest, slug: str) -> StreamingHttpResponse:
    letter = _public_letter_or_404(slug)
    return spreadsheets.csv_response(
        exports.public_csv_rows(letter=letter), f"{letter.slug}-signers.csv"
    )


@require_safe
@login_required
def export_csv(request: AuthedHttpRequest, slug: str) -> StreamingHttpResponse:
    letter = require_letter_role(request, slug).letter
    response = spreadsheets.csv_response(
        exports.organiser_csv_rows(letter=letter), f"{letter.slug}-all-signatures.csv"
    )
    add_never_cache_headers(response)
    return response
