"""Letter PDFs: a template rendered to HTML, then to PDF bytes by WeasyPrint.

A letter's body is written by its organisers, and an organiser's account can be
taken over; so the renderer must never become a way to make the server fetch a
URL. :class:`StaticOnlyFetcher` answers only for the site's own static files,
read from disk, and refuses everything else (other hosts, loopback, metadata
addresses, ``file://``, ``data:``) without opening a connection.
"""

import mimetypes
import posixpath
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.template.loader import render_to_string
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse


class FetchRefused(ValueError):
    """WeasyPrint logs this and leaves the image or stylesheet out."""


def _static_prefix() -> str:
    """The absolute URL under which the site's static files live."""
    static_url = settings.STATIC_URL or "/static/"
    if urlsplit(static_url).scheme:
        return static_url
    return settings.SITE_URL.rstrip("/") + "/" + static_url.lstrip("/")


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

    def __init__(self) -> None:
        super().__init__(allowed_protocols=("http", "https"), allow_redirects=False)

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
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


def html_to_pdf(html: str) -> bytes:
    """PDF bytes of ``html``; relative URLs resolve against the site's address."""
    document = HTML(
        string=html,
        base_url=settings.SITE_URL.rstrip("/") + "/",
        url_fetcher=StaticOnlyFetcher(),
    )
    pdf: bytes = document.write_pdf()
    return pdf


def render_letter_pdf(context: dict[str, Any]) -> bytes:
    """The letter PDF for ``context`` (see ``letters/letter_pdf.html``).

    Static files are named by their plain path under ``static_prefix``, not
    through ``{% static %}``: a worker may run without the web's manifest.
    """
    html = render_to_string(
        "letters/letter_pdf.html", {**context, "static_prefix": _static_prefix()}
    )
    return html_to_pdf(html)
