import csv
import io
import os

import pytest
from django.core.cache import cache
from django.urls import reverse

from letters.models import Letter, LetterPdf
from letters.services.letters import letter_update_settings
from signers import exports
from signers.models import Signature
from signers.services.signatures import signature_withdraw
from signers.tasks import letter_pdf_render_task
from tests.conftest import wait_until
from tests.factories import UserFactory
from tests.letters.helpers import pdf_text
from tests.letters.public_fixtures import bump_signers_version, published_letter, sign
from tests.signers.helpers import sign as signers_sign

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
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


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

    response = client.get(reverse("signers:signers-csv", args=[letter.slug]))

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

    rows = csv_rows(client.get(reverse("signers:signers-csv", args=[letter.slug])))

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

    response = client.get(reverse("signers:export-csv", args=[letter.slug]))

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
    url = reverse("signers:export-csv", args=[letter.slug])

    assert client.get(url).status_code == 302
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404


# --- PDF rendering and caching ------------------------------------------------------


def pdf_url(letter) -> str:
    return reverse("signers:pdf-download", args=[letter.slug])


def downloaded_text(response) -> str:
    return pdf_text(b"".join(response.streaming_content))


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
    assert [pdf.signers_version for pdf in LetterPdf.objects.all()] == [1]


def test_render_keeps_only_the_pdf_of_the_current_list(client):
    letter = published_letter()
    files = []
    for _ in range(3):
        files.append(exports.letter_pdf_render(letter_id=letter.pk).file.path)
        bump_signers_version(letter)
    exports.letter_pdf_render(letter_id=letter.pk)

    assert LetterPdf.objects.get().signers_version == 3
    assert [os.path.exists(f) for f in files] == [False, False, False]


def test_render_skips_a_letter_that_is_not_public(client):
    letter = published_letter(status=Letter.Status.CIRCULATING)
    assert exports.letter_pdf_render(letter_id=letter.pk) is None
    assert not LetterPdf.objects.exists()


def test_a_large_letters_download_before_any_render_asks_to_come_back_and_queues_one_render(  # noqa: E501
    client, queued, settings
):
    settings.PDF_INLINE_MAX_SIGNERS = 0
    letter = published_letter()
    sign(letter, "Alder Group")

    first = client.get(pdf_url(letter))
    second = client.get(pdf_url(letter))

    assert first.status_code == 503
    assert first["Retry-After"] == "10"
    html = first.content.decode()
    assert "being prepared" in html
    assert '<meta http-equiv="refresh" content="10">' in html
    assert second.status_code == 503
    assert queued == [letter.pk]
    assert not LetterPdf.objects.exists()


def test_a_small_letters_pdf_is_rendered_in_the_request_when_missing(client, queued):
    letter = published_letter()
    sign(letter, "Alder Group")

    response = client.get(pdf_url(letter))

    assert response.status_code == 200
    assert "Alder Group" in downloaded_text(response)
    assert queued == []
    stored = LetterPdf.objects.get()
    assert stored.is_current_for(letter)


def test_while_one_request_renders_a_small_letters_pdf_others_are_asked_to_reload(
    client, queued
):
    letter = published_letter()
    sign(letter, "Alder Group")
    cache.add(f"letters:pdf-rendering:{letter.current_revision_id}:0", True)

    response = client.get(pdf_url(letter))

    assert response.status_code == 503
    assert not LetterPdf.objects.exists()


def test_download_serves_the_rendered_pdf_and_answers_304(client, queued):
    letter = published_letter()
    sign(letter, "Alder Group")
    letter_pdf_render_task(letter.pk)

    response = client.get(pdf_url(letter))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="{letter.slug}.pdf"' in response["Content-Disposition"]
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert queued == []
    again = client.get(pdf_url(letter), HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


@pytest.fixture(params=[300, 0], ids=["small letter", "large letter"])
def inline_max(request, settings):
    """Both ways a missing PDF is answered: rendered in the request (a small
    letter), or "being prepared" while a worker renders it (a large one)."""
    settings.PDF_INLINE_MAX_SIGNERS = request.param
    return request.param


def test_a_withdrawn_name_is_never_downloadable_again(
    client, queued, inline_max, django_capture_on_commit_callbacks
):
    letter = published_letter()
    sign(letter, "Staying Group")
    leaving = sign(letter, "Leaving Group")
    old = exports.letter_pdf_render(letter_id=letter.pk)
    assert "Leaving Group" in pdf_text(old.file.read())

    with django_capture_on_commit_callbacks(execute=True):
        signature_withdraw(signature_id=leaving.pk)
    old_etag = f'"{old.revision_id}-{old.signers_version}"'
    response = client.get(pdf_url(letter), HTTP_IF_NONE_MATCH=old_etag)

    if inline_max:
        assert response.status_code == 200
        text = downloaded_text(response)
        assert "Staying Group" in text
        assert "Leaving Group" not in text
    else:
        assert response.status_code == 503
        assert "being prepared" in response.content.decode()
    # The stale file is gone from storage too, not only from the download.
    assert not os.path.exists(old.file.path)


def test_a_storage_error_while_deleting_stale_pdfs_does_not_undo_a_withdrawal(
    client, queued, monkeypatch, django_capture_on_commit_callbacks
):
    letter = published_letter()
    leaving = sign(letter, "Leaving Group")
    exports.letter_pdf_render(letter_id=letter.pk)

    def broken_storage(**kwargs):
        raise OSError("storage unreachable")

    monkeypatch.setattr(exports, "letter_pdfs_prune", broken_storage)
    with django_capture_on_commit_callbacks(execute=True):
        assert signature_withdraw(signature_id=leaving.pk)

    leaving.refresh_from_db()
    assert leaving.status == Signature.Status.WITHDRAWN
    monkeypatch.undo()
    assert "Leaving Group" not in downloaded_text(client.get(pdf_url(letter)))


def test_the_first_download_after_a_new_signature_never_has_the_old_list(
    client, queued, inline_max, django_capture_on_commit_callbacks
):
    letter = published_letter()
    sign(letter, "Alder Group")
    old = exports.letter_pdf_render(letter_id=letter.pk)
    with django_capture_on_commit_callbacks(execute=True):
        signers_sign(letter, display_name="Birch Group", email="b@birch.example.org")

    response = client.get(pdf_url(letter))

    if inline_max:
        assert response.status_code == 200
        assert "Birch Group" in downloaded_text(response)
        assert response["ETag"] != f'"{old.revision_id}-{old.signers_version}"'
    else:
        assert response.status_code == 503
        assert queued == [letter.pk]
        letter_pdf_render_task(letter.pk)
        assert "Birch Group" in downloaded_text(client.get(pdf_url(letter)))


def test_a_pdf_that_finished_rendering_after_the_list_changed_is_not_served(
    client, queued, settings
):
    settings.PDF_INLINE_MAX_SIGNERS = 0
    letter = published_letter()
    sign(letter, "Alder Group")
    exports.letter_pdf_render(letter_id=letter.pk)
    sign(letter, "Birch Group")
    bump_signers_version(letter)  # while the task was rendering the old list

    assert client.get(pdf_url(letter)).status_code == 503


def test_allowing_organisations_only_takes_individuals_off_the_pdf(client, queued):
    owner = UserFactory()
    letter = published_letter(owner=owner, signer_kinds=Letter.SignerKinds.BOTH)
    sign(letter, "Alder Group")
    sign(letter, "Ada Lovelace", kind=Signature.Kind.INDIVIDUAL)
    assert "Ada Lovelace" in downloaded_text(client.get(pdf_url(letter)))

    letter_update_settings(
        letter=letter, actor=owner, signer_kinds=Letter.SignerKinds.ORGANISATIONS
    )

    text = downloaded_text(client.get(pdf_url(letter)))
    assert "Alder Group" in text
    assert "Ada Lovelace" not in text


@pytest.mark.worker
def test_a_real_worker_renders_the_pdf(celery_worker):
    letter = published_letter()
    sign(letter, "Alder Group")

    celery_worker.send(letter_pdf_render_task, letter.pk)

    assert wait_until(lambda: LetterPdf.objects.filter(letter=letter).exists(), 120)
    stored = LetterPdf.objects.get()
    assert stored.signers_version == letter.signers_version
    assert stored.file.read().startswith(b"%PDF")
