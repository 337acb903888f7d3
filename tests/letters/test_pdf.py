import socket
import threading
from pathlib import Path

import pytest

from letters import exports, pdf
from signers.models import Signature
from tests.letters.helpers import pdf_text
from tests.letters.public_fixtures import published_letter, sign

ROOT = Path(__file__).resolve().parents[2]


class ListeningServer:
    """A real TCP server on 127.0.0.1 that records every connection it gets
    and answers each with a redirect to the site's own static file."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.recv(4096)
                conn.sendall(
                    b"HTTP/1.1 302 Found\r\nLocation: file:///etc/passwd\r\n"
                    b"Content-Length: 0\r\n\r\n"
                )

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def listener():
    server = ListeningServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def no_outgoing_connections(monkeypatch):
    """Fail on any connection the renderer tries to open, wherever to."""
    attempts = []
    real_connect = socket.socket.connect

    def connect(self, address):
        attempts.append(address)
        raise AssertionError(f"the PDF renderer opened a connection to {address}")

    monkeypatch.setattr(socket.socket, "connect", connect)
    yield attempts
    monkeypatch.setattr(socket.socket, "connect", real_connect)


def test_letter_body_pointing_at_a_local_server_makes_no_request(
    listener, db, settings
):
    letter = published_letter(
        revision={
            "body": (
                f'<img src="{listener.url}/">\n\n![pixel]({listener.url}/pixel.png)\n\n'
                f"[a link]({listener.url}/linked)"
            )
        }
    )
    letter.refresh_from_db()

    stored = exports.letter_pdf_render(letter_id=letter.pk)

    assert stored is not None and stored.file.read().startswith(b"%PDF")
    assert listener.connections == 0


def test_fetcher_fetches_nothing_but_static_files_even_from_raw_html(
    listener, settings, no_outgoing_connections
):
    html = f"""
    <html><head>
      <link rel="stylesheet" href="{listener.url}/style.css">
      <style>
        @import url("{listener.url}/import.css");
        body {{ background: url("{listener.url}/background.png"); }}
        @font-face {{ font-family: X; src: url("{listener.url}/font.woff"); }}
      </style>
    </head><body>
      <img src="{listener.url}/">
      <img src="{listener.url}/redirect-to-file">
      <img src="http://169.254.169.254/latest/meta-data/">
      <img src="http://[::1]:{listener.port}/">
      <img src="http://localhost:{listener.port}/">
      <img src="file:///etc/passwd">
      <img src="/static/../../../../etc/passwd">
      <object data="{listener.url}/object"></object>
      <p>Still renders</p>
    </body></html>
    """

    data = pdf.html_to_pdf(html)

    assert "Still renders" in pdf_text(data)
    assert listener.connections == 0
    assert no_outgoing_connections == []


def test_fetcher_serves_the_sites_static_files_from_disk(
    listener, settings, no_outgoing_connections
):
    # Even when the site's own address is a live server, static files are read
    # from disk and nothing is requested.
    settings.SITE_URL = listener.url
    fetched = pdf.StaticOnlyFetcher().fetch(f"{listener.url}/static/favicon.svg")
    assert fetched.read() == (ROOT / "static" / "favicon.svg").read_bytes()
    assert fetched.content_type == "image/svg+xml"
    assert listener.connections == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://testserver/static/../coalition/settings.py",
        "http://testserver/static/%2e%2e/%2e%2e/etc/passwd",
        "http://testserver/static/",
        "http://testserver/static/no-such-file.css",
        "http://testserver/media/letters/pdf/1/r1-v1.pdf",
        "http://testserver.evil.example/static/favicon.svg",
        "https://testserver/static/favicon.svg",
        "file:///etc/passwd",
        "data:text/css,body{}",
    ],
)
def test_fetcher_refuses_anything_else(url, no_outgoing_connections):
    with pytest.raises(pdf.FetchRefused):
        pdf.StaticOnlyFetcher().fetch(url)


def test_pdf_lists_every_signer_in_order_with_the_revision_hash(db):
    letter = published_letter(signer_kinds="both")
    revision = letter.current_revision
    organisations = [
        ("The Zebra Trust", "zebra trust"),
        ("Ärzte für Luft", "arzte fur luft"),
        ("Amnesty Local", "amnesty local"),
        ("La Bicicleta", "bicicleta"),
        ("3rd Street Residents", "00000003rd street residents"),
        ("Δέλτα Ομάδα", "δέλτα ομάδα"),
        ("Ёлка Клуб", "ёлка клуб"),
    ] + [(f"Group {n:03d}", f"group {n:03d}") for n in range(120)]
    for name, sort_name in organisations:
        sign(letter, name, sort_name, city="Leeds", country="United Kingdom")
    sign(letter, "Ada Lovelace", kind=Signature.Kind.INDIVIDUAL, city="London")
    sign(letter, "Unlisted Org", consent_listed=False)

    stored = exports.letter_pdf_render(letter_id=letter.pk)

    text = pdf_text(stored.file.read())
    expected = [name for name, _ in sorted(organisations, key=lambda o: o[1])]
    expected.append("Ada Lovelace")
    positions = [text.index(name) for name in expected]
    assert positions == sorted(positions)
    assert "Unlisted Org" not in text
    assert "Leeds, United Kingdom" in text
    assert "and 1 more who asked not to be named" in text
    assert revision.sha256 in text.replace("\n", "")
    assert f"Revision {revision.number}" in text
    assert "Page 1 / " in text
    assert letter.current_revision.addressee in text


def test_letterhead_logo_is_read_from_static_files_without_a_manifest(
    db, settings, monkeypatch, no_outgoing_connections
):
    # A worker may run without collectstatic's manifest; the PDF must still render.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
        },
    }
    served = []
    real_fetch = pdf.StaticOnlyFetcher.fetch

    def fetch(self, url, headers=None):
        response = real_fetch(self, url, headers)
        served.append(url)
        return response

    monkeypatch.setattr(pdf.StaticOnlyFetcher, "fetch", fetch)
    letter = published_letter()

    stored = exports.letter_pdf_render(letter_id=letter.pk)

    assert stored is not None
    assert served == ["http://testserver/static/favicon.svg"]
