import io
import socket
import threading
from pathlib import Path

import pytest
from pypdf import PdfReader

from letters import pdf, pdf_metrics
from signers import exports
from signers.models import Signature
from tests.letters.helpers import pdf_text
from tests.letters.public_fixtures import published_letter, sign, sign_many

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


def page_texts(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


@pytest.fixture
def parts(monkeypatch):
    """Records how many pages each WeasyPrint layout held, with parts of two."""
    monkeypatch.setattr(pdf, "PAGES_PER_PART", 2)
    sizes = []
    real_render = pdf._render

    def render(context):
        data, count = real_render(context)
        sizes.append(count)
        return data, count

    monkeypatch.setattr(pdf, "_render", render)
    return sizes


def test_long_list_is_rendered_in_parts_with_page_numbers_running_on(db, parts):
    letter = published_letter(revision={"title": "Clean air now"})
    sign_many(letter, 300)

    stored = exports.letter_pdf_render(letter_id=letter.pk)

    pages = page_texts(stored.file.read())
    total = len(pages)
    assert total >= 6
    assert max(parts) <= 2
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} / {total}" in text
        assert "Clean air now · Revision 1" in text
    text = "\n".join(pages)
    positions = [text.index(f"Org {n:05d}") for n in range(300)]
    assert positions == sorted(positions)
    assert text.count(letter.current_revision.sha256) == 1
    assert "Signed by 300 signers" in text


def test_signers_run_down_each_column_then_across(db):
    entries = [
        pdf.SignerEntry(name=f"Org {n:03d}", affiliation="", place="Leeds")
        for n in range(200)
    ]

    pages = pdf.signer_pages([("", entries)], unlisted=0)

    flat = [e for page in pages for column in page.columns for e in column]
    assert flat == entries
    for page in pages:
        assert len(page.columns) == pdf.COLUMNS
        heights = [sum(e.height for e in column) for column in page.columns]
        assert max(heights) <= pdf.PAGE_HEIGHT
    # The last page is balanced: its columns differ by at most one signer.
    last = [len(column) for column in pages[-1].columns]
    assert max(last) - min(last) <= 1
    assert pages[0].signed_by and not any(p.signed_by for p in pages[1:])


def test_a_long_name_takes_more_lines_than_a_short_one():
    short = pdf.SignerEntry(name="Oxfam", affiliation="", place="Oxford")
    long = pdf.SignerEntry(
        name="The " + "Very " * 30 + "Long Coalition", affiliation="", place=""
    )
    wide = pdf.SignerEntry(name="東京" * 30, affiliation="", place="Tokyo")
    narrow = pdf.SignerEntry(name="To" * 30, affiliation="", place="Tokyo")

    assert short.lines == [("Oxfam", True), ("Oxford", False)]
    assert short.height == pdf.ROW
    assert len(long.lines) > 3
    assert all(bold for _, bold in long.lines)
    assert " ".join(text for text, _ in long.lines) == long.name
    assert len(wide.lines) > len(narrow.lines)
    for entry in (long, wide):
        for text, bold in entry.lines:
            width = pdf_metrics.text_width(text, size=pdf.FONT_SIZE, bold=bold)
            assert width <= pdf.WRAP_WIDTH


def test_a_name_with_line_breaks_stays_on_its_rows():
    # Pre-broken text: a newline in a stranger's name would start a line and
    # shift every row after it.
    entry = pdf.SignerEntry(
        name="Line\nBreak\r\nGroup\u2028Two\x00", affiliation="A\tB", place="Leeds"
    )

    assert entry.lines == [
        ("Line Break Group Two", True), ("A B", False), ("Leeds", False)
    ]  # fmt: skip
    html = pdf.column_html([entry])
    assert "\r" not in html and "\x00" not in html
    # Three lines take two rows: the place is a first line in regular weight.
    assert html.count("\n") == 1
    assert '<span class="details">Leeds</span>' in html


def test_a_blank_name_still_takes_a_row():
    blank = pdf.SignerEntry(name=" \n\x07 ", affiliation="", place="")

    assert blank.height == pdf.ROW
    assert pdf.signer_pages([("", [blank])], unlisted=0)[0].columns[0] == [blank]


def test_column_text_is_escaped():
    entry = pdf.SignerEntry(name="<b>Bold</b> & Co", affiliation="", place="<i>x")

    html = pdf.column_html([entry])

    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co" in html
    assert "&lt;i&gt;x" in html
    assert "<b>" not in html and "<i>" not in html


def test_signers_are_laid_out_again_when_a_page_runs_over(db, parts, monkeypatch):
    # An estimate too generous: pages of signers run over, and the renderer
    # must notice and lay them out again with more room to spare.
    monkeypatch.setattr(pdf, "PAGE_HEIGHT", 1000.0)
    letter = published_letter()
    sign_many(letter, 120)

    stored = exports.letter_pdf_render(letter_id=letter.pk)

    pages = page_texts(stored.file.read())
    assert len(parts) > 2  # laid out more than once
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} / {len(pages)}" in text
    text = "\n".join(pages)
    positions = [text.index(f"Org {n:05d}") for n in range(120)]
    assert positions == sorted(positions)


def test_letter_with_only_unlisted_signers_says_how_many_signed(db):
    letter = published_letter()
    sign(letter, "Quiet Group", consent_listed=False)

    stored = exports.letter_pdf_render(letter_id=letter.pk)

    text = pdf_text(stored.file.read())
    assert "Quiet Group" not in text
    assert "Signed by 1 signer" in text
    assert "and 1 more who asked not to be named" in text
    assert "Page 1 / 1" in text


def test_names_in_the_pdf_stay_text(db):
    letter = published_letter(revision={"title": 'A "quoted" </style> title'})
    sign(letter, '<b>Bold</b> "Group" </style>', city="Leeds")

    stored = exports.letter_pdf_render(letter_id=letter.pk)

    text = pdf_text(stored.file.read())
    assert '<b>Bold</b> "Group" </style>' in text
    assert 'A "quoted" </style> title · Revision 1' in text


def test_laying_out_a_long_list_reads_each_signer_a_few_times_only():
    # The list may hold 50,000 signers: filling a page must not run over all
    # those left (that was most of the layout's time at that size).
    class Counted(pdf.SignerEntry):
        reads = 0

        @property
        def height(self):
            Counted.reads += 1
            return super().height

    entries = [
        Counted(name=f"Org {n:05d}", affiliation="", place="") for n in range(3000)
    ]

    pages = pdf.signer_pages([("", entries)], unlisted=0)

    assert [e for page in pages for c in page.columns for e in c] == entries
    assert Counted.reads < 10 * len(entries)


def test_lines_are_broken_as_when_each_line_was_measured_whole():
    # Widths add up (no kerning), so each word is measured once; the lines
    # must be those of measuring every candidate line from its start.
    def reference(text, width, bold):
        lines, line = [], ""
        for word in text.split():
            candidate = f"{line} {word}" if line else word
            if pdf_metrics.text_width(candidate, size=8.5, bold=bold) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = ""
            for char in word:
                wider = line + char
                if line and pdf_metrics.text_width(wider, size=8.5, bold=bold) > width:
                    lines.append(line)
                    line = ""
                line += char
        return [*lines, line] if line else lines

    texts = [
        "", "Oxfam", "The Very Long Name Of A Coalition For Clean Air In Cities",
        "東京" * 40, "W" * 90, "Ärzte für Luft e.\u0301V. and friends " * 4,
        "short words then Averyveryverylongwordthatmustbebrokeninsideitself ok",
    ]  # fmt: skip
    for text in texts:
        for width in (40.0, pdf.WRAP_WIDTH):
            for bold in (False, True):
                expected = reference(text, width, bold)
                assert (
                    pdf_metrics.wrap(text, width=width, size=8.5, bold=bold) == expected
                )


def test_signer_pages_size_no_box_by_measuring_its_text(db, monkeypatch):
    # Every box on a page of signers has its width given. A box sized to its
    # content (a layer of no set width, a page-margin box with the running
    # title) has WeasyPrint lay its lines out once more just to measure them:
    # that was a fifth of the list's time.
    from weasyprint.layout import preferred

    measured = {"letter": 0, "signers": 0}
    rendering = ["letter"]
    real_widths = preferred.inline_line_widths
    real_render = pdf._render

    def widths(*args, **kwargs):
        measured[rendering[0]] += 1
        yield from real_widths(*args, **kwargs)

    def render(context):
        rendering[0] = "signers" if context.get("pages") else "letter"
        return real_render(context)

    monkeypatch.setattr(preferred, "inline_line_widths", widths)
    monkeypatch.setattr(pdf, "_render", render)
    letter = published_letter(signer_kinds="both")
    sign_many(letter, 150)
    sign(letter, "Ada Lovelace", kind=Signature.Kind.INDIVIDUAL, city="London")
    sign(letter, "Unlisted Org", consent_listed=False)

    exports.letter_pdf_render(letter_id=letter.pk)

    assert measured["letter"] > 0  # the letter's page-margin boxes are measured
    assert measured["signers"] == 0


def test_signer_pages_footer_sits_where_the_letters_does(db):
    # The signer pages write their footer themselves (see the test above).
    letter = published_letter(revision={"title": "Clean air now"})
    sign_many(letter, 150)

    stored = exports.letter_pdf_render(letter_id=letter.pk)

    reader = PdfReader(io.BytesIO(stored.file.read()))
    footers = []
    for page in reader.pages:
        found = {}

        def visit(text, cm, tm, font, size, found=found):
            for start in ("Clean air now · Revision 1", "Page "):
                if text.startswith(start):
                    found[start] = (tm[4], tm[5])

        page.extract_text(visitor_text=visit)
        footers.append(found)
    assert len(footers) > 3 and len(footers[0]) == 2
    letters = footers[0]  # the letter's page: its footer in page-margin boxes
    for found in footers[1:]:
        assert found.keys() == letters.keys()
        for start, (x, y) in found.items():
            assert abs(x - letters[start][0]) < 0.5 and abs(y - letters[start][1]) < 0.5
