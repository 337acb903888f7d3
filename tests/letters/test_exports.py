import csv
import io
import os

import pytest
from django.urls import reverse

from letters import exports
from letters.models import Letter, LetterPdf
from letters.tasks import letter_pdf_render_task
from signers.models import Signature
from tests.conftest import wait_until
from tests.factories import UserFactory
from tests.letters.public_fixtures import bump_signers_version, published_letter, sign

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path / "media"
    # For a worker process started by the test.
    monkeypatch.setenv("MEDIA_ROOT", str(tmp_path / "media"))


@pytest.fixture
def queued(monkeypatch):
    """Letter ids whose PDF render was queued (the broker here runs nothing)."""
    calls = []
    monkeypatch.setattr(
        letter_pdf_render_task,
        "delay_on_commit",
        lambda letter_id: calls.append(letter_id),
    )
    return calls


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+44 20 7946 0000", "'+44 20 7946 0000"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("  =1+1", "'  =1+1"),
        ("|calc", "'|calc"),
        ("%0A=1", "'%0A=1"),
        ("Friends of the Earth", "Friends of the Earth"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (42, "42"),
    ],
)
def test_csv_safe_neutralises_what_a_spreadsheet_would_run(value, expected):
    assert exports.csv_safe(value) == expected


# --- Public CSV -------------------------------------------------------------------


def test_public_csv_lists_public_fields_of_listed_signers_in_page_order(client):
    letter = published_letter(signer_kinds=Letter.SignerKinds.BOTH)
    sign(letter, "Zebra Trust", city="York", country="United Kingdom")
    sign(
        letter,
        "Ada Lovelace",
        kind=Signature.Kind.INDIVIDUAL,
        affiliation="Analytical Society",
        city="London",
    )
    sign(
        letter,
        "The Alder Group",
        "alder group",
        website="https://alder.example.org/",
        contact_name="Private Person",
        email="private@alder.example.org",
        phone="+44 7000 000001",
        comment="Secret note",
    )
    sign(letter, "Hidden Group", consent_listed=False)
    sign(letter, "Pending Group", status=Signature.Status.PENDING)

    response = client.get(reverse("letters:signers-csv", args=[letter.slug]))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    rows = csv_rows(response)
    assert rows == [
        ["Kind", "Name", "Affiliation", "City or region", "Country", "Website"],
        [
            "Organisation",
            "The Alder Group",
            "",
            "Springfield",
            "United Kingdom",
            "https://alder.example.org/",
        ],
        ["Organisation", "Zebra Trust", "", "York", "United Kingdom", ""],
        [
            "Individual",
            "Ada Lovelace",
            "Analytical Society",
            "London",
            "United Kingdom",
            "",
        ],
    ]


def test_public_csv_neutralises_formula_cells(client):
    letter = published_letter()
    sign(letter, '=HYPERLINK("http://evil.example","Click")', "hyperlink", city="+1")

    rows = csv_rows(client.get(reverse("letters:signers-csv", args=[letter.slug])))

    assert rows[1][1] == '\'=HYPERLINK("http://evil.example","Click")'
    assert rows[1][3] == "'+1"


# --- Organisers' export ---------------------------------------------------------


def test_organiser_export_has_every_signature_with_private_fields_and_revision(
    client,
):
    organiser = UserFactory()
    letter = published_letter(owner=organiser)
    revision = letter.current_revision
    sign(
        letter,
        "Alder Group",
        email="contact@alder.example.org",
        contact_name="Rosa Park",
        phone="+44 7000 000001",
        comment="=cmd|' /C calc'!A0",
        consent_updates=True,
    )
    sign(letter, "Withdrawn Group", status=Signature.Status.WITHDRAWN)
    sign(letter, "Hidden Group", consent_listed=False)
    client.force_login(organiser)

    response = client.get(reverse("letters:export-csv", args=[letter.slug]))

    assert response.status_code == 200
    rows = csv_rows(response)
    header, by_name = (
        rows[0],
        {row[4]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]},
    )
    assert {"Email", "Phone", "Status", "Revision hash"} <= set(header)
    assert set(by_name) == {"Alder Group", "Withdrawn Group", "Hidden Group"}
    alder = by_name["Alder Group"]
    assert alder["Email"] == "contact@alder.example.org"
    assert alder["Contact name"] == "Rosa Park"
    assert alder["Phone"] == "'+44 7000 000001"
    assert alder["Comment to the organisers"] == "'=cmd|' /C calc'!A0"
    assert alder["Coalition updates"] == "yes"
    assert alder["Revision signed"] == str(revision.number)
    assert alder["Revision hash"] == revision.sha256
    assert by_name["Withdrawn Group"]["Status"] == "Withdrawn"
    assert by_name["Hidden Group"]["Listed publicly"] == "no"
    assert "no-cache" in response["Cache-Control"]


def test_organiser_export_needs_an_organiser_of_that_letter(client):
    letter = published_letter(owner=UserFactory())
    url = reverse("letters:export-csv", args=[letter.slug])

    assert client.get(url).status_code == 302
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404


# --- PDF rendering and caching ------------------------------------------------------


def test_render_task_stores_one_pdf_per_revision_and_signer_list(client):
    letter = published_letter()
    sign(letter, "Alder Group")

    letter_pdf_render_task(letter.pk)
    letter_pdf_render_task(letter.pk)

    stored = LetterPdf.objects.get()
    assert (stored.revision, stored.signers_version) == (letter.current_revision, 0)
    assert stored.file.read().startswith(b"%PDF")
    assert stored.size > 0

    bump_signers_version(letter)
    letter_pdf_render_task(letter.pk)
    assert LetterPdf.objects.count() == 2


def test_render_keeps_only_the_two_newest_pdfs(client):
    letter = published_letter()
    files = []
    for _ in range(3):
        files.append(exports.letter_pdf_render(letter_id=letter.pk).file.path)
        bump_signers_version(letter)

    assert LetterPdf.objects.count() == 2
    assert [os.path.exists(f) for f in files] == [False, True, True]


def test_render_skips_a_letter_that_is_not_public(client):
    letter = published_letter(status=Letter.Status.CIRCULATING)
    assert exports.letter_pdf_render(letter_id=letter.pk) is None
    assert not LetterPdf.objects.exists()


def test_download_before_any_render_asks_to_come_back_and_queues_one_render(
    client, queued
):
    letter = published_letter()
    url = reverse("letters:pdf-download", args=[letter.slug])

    first = client.get(url)
    second = client.get(url)

    assert first.status_code == 503
    assert first["Retry-After"] == "10"
    assert "being prepared" in first.content.decode()
    assert second.status_code == 503
    assert queued == [letter.pk]


def test_download_serves_the_rendered_pdf_and_answers_304(client, queued):
    letter = published_letter()
    sign(letter, "Alder Group")
    letter_pdf_render_task(letter.pk)
    url = reverse("letters:pdf-download", args=[letter.slug])

    response = client.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="{letter.slug}.pdf"' in response["Content-Disposition"]
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert queued == []
    again = client.get(url, HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_download_serves_the_last_pdf_while_the_new_one_renders(client, queued):
    letter = published_letter()
    sign(letter, "Alder Group")
    old = exports.letter_pdf_render(letter_id=letter.pk)
    sign(letter, "Birch Group")
    bump_signers_version(letter)

    response = client.get(reverse("letters:pdf-download", args=[letter.slug]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == old.file.open("rb").read()
    assert queued == [letter.pk]

    letter_pdf_render_task(letter.pk)
    response = client.get(reverse("letters:pdf-download", args=[letter.slug]))
    assert response["ETag"] == f'"{letter.current_revision_id}-1"'


@pytest.mark.worker
def test_a_real_worker_renders_the_pdf(celery_worker):
    letter = published_letter()
    sign(letter, "Alder Group")

    celery_worker.send(letter_pdf_render_task, letter.pk)

    assert wait_until(lambda: LetterPdf.objects.filter(letter=letter).exists(), 120)
    stored = LetterPdf.objects.get()
    assert stored.signers_version == letter.signers_version
    assert stored.file.read().startswith(b"%PDF")
