"""A signer import larger than SIGNERS_IMPORT_INLINE_MAX_ROWS runs in a worker:
the confirm queues a job, its page shows the progress the task puts in the
cache, then the outcome (all rows or none); the organiser gets an email."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from coalition.outbox.models import OutboxMessage
from letters.audit import Action
from letters.models import AuditEvent, Letter, Membership
from signers import services
from signers.emails import BUILDERS
from signers.models import EmailKind, Signature, SignatureImportJob
from signers.services import imports
from signers.tasks import signature_import_job_task
from tests.factories import UserFactory
from tests.signers.helpers import sign

pytestmark = pytest.mark.django_db

FILE = (
    b"Organisation,E-mail,City,Kind,Name\n"
    b"Les Amis du Parc,zoe@amis.example.org,Lyon,,\n"
    b"University of Leeds,ada@example.org,Leeds,Individual,Ada Lovelace\n"
    b"Verein <b>Gr\xc3\xbcn</b>,info@gruen.example.org,Berlin,,\n"
)


def url(letter):
    return reverse("signers:signature-import", args=[letter.slug])


def job_url(job):
    return reverse("signers:signature-import-job", args=[job.letter.slug, job.pk])


@pytest.fixture
def both_kinds(letter, client, organiser, settings):
    settings.SIGNERS_IMPORT_INLINE_MAX_ROWS = 2
    letter.signer_kinds = Letter.SignerKinds.BOTH
    letter.save()
    client.force_login(organiser)
    return letter


@pytest.fixture
def queued(monkeypatch):
    """Job ids queued for the worker (the broker here runs nothing)."""
    calls: list[int] = []
    monkeypatch.setattr(
        signature_import_job_task,
        "delay_on_commit",
        lambda job_id: calls.append(job_id),
    )
    return calls


def confirm(client, letter, data=FILE):
    preview = client.post(url(letter), {"file": SimpleUploadedFile("s.csv", data)})
    payload = preview.context["confirm"].initial["payload"]
    return client.post(url(letter), {"payload": payload})


def test_a_large_file_is_queued_then_imported_with_its_progress_shown(
    client, both_kinds, organiser, queued, monkeypatch
):
    response = confirm(client, both_kinds)

    job = SignatureImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == job_url(job)
    assert queued == [job.pk]
    assert (job.status, job.total_rows, job.created_by) == ("queued", 3, organiser)
    assert bytes(job.payload) == FILE
    assert not Signature.objects.exists()
    page = client.get(job_url(job)).content.decode()
    assert "Importing: 0 of 3 rows" in page
    assert "<progress" in page and 'hx-trigger="every 2s"' in page
    assert '<meta http-equiv="refresh"' in page and ">Refresh</a>" in page

    # The task, in this process: what the page shows while it runs.
    monkeypatch.setattr(services.signatures, "IMPORT_PROGRESS_EVERY", 1)
    real = imports.signature_import
    seen = []

    def watched(**kwargs):
        report = kwargs["progress"]

        def progress(done):
            report(done)
            fragment = client.get(job_url(job), HTTP_HX_REQUEST="true")
            seen.append((imports.cache.get(imports.progress_key(job.pk)), fragment))

        return real(**{**kwargs, "progress": progress})

    monkeypatch.setattr(imports, "signature_import", watched)
    signature_import_job_task(job.pk)

    assert [done for done, _ in seen] == [1, 2, 3]
    fragment = seen[1][1].content.decode()
    assert "Importing: 2 of 3 rows" in fragment
    assert 'value="2"' in fragment and "<html" not in fragment
    job.refresh_from_db()
    assert (job.status, job.created_count) == ("done", 3)
    assert job.finished_at is not None
    assert Signature.objects.filter(source=Signature.Source.IMPORT).count() == 3
    page = client.get(job_url(job)).content.decode()
    assert "3 signers imported." in page
    assert reverse("signers:letter-signatures", args=[both_kinds.slug]) in page
    assert "hx-get" not in page and "http-equiv" not in page
    assert AuditEvent.objects.filter(
        letter=both_kinds, action=Action.SIGNATURES_IMPORTED, detail__count=3
    ).exists()
    # The organiser hears of it; a second delivery of the task does nothing.
    row = OutboxMessage.objects.get(kind=EmailKind.IMPORT_FINISHED)
    assert row.to == organiser.email
    email = BUILDERS[row.kind](row)
    assert email is not None
    assert "3 signers were added" in email.text
    signature_import_job_task(job.pk)
    assert Signature.objects.count() == 3


def test_a_second_click_on_confirm_finds_the_first_job(client, both_kinds, queued):
    preview = client.post(url(both_kinds), {"file": SimpleUploadedFile("s.csv", FILE)})
    payload = preview.context["confirm"].initial["payload"]

    first = client.post(url(both_kinds), {"payload": payload})
    second = client.post(url(both_kinds), {"payload": payload})

    job = SignatureImportJob.objects.get()
    assert first["Location"] == second["Location"] == job_url(job)
    assert queued == [job.pk]


def test_one_bad_row_imports_nothing_and_the_page_lists_the_problem(
    client, both_kinds, queued
):
    confirm(client, both_kinds)
    job = SignatureImportJob.objects.get()
    # Between the preview and the worker, the organisation signed.
    sign(both_kinds, display_name="Les Amis du Parc", email="other@example.org")

    signature_import_job_task(job.pk)

    job.refresh_from_db()
    assert job.status == "failed" and job.created_count == 0
    assert Signature.objects.count() == 1
    page = client.get(job_url(job)).content.decode()
    assert "Nothing was imported" in page and "Line 2:" in page
    assert "hx-get" not in page
    row = OutboxMessage.objects.get(kind=EmailKind.IMPORT_FINISHED)
    email = BUILDERS[row.kind](row)
    assert email is not None and "Line 2:" in email.text
    assert "<b>" not in (email.html or "")


def test_a_small_file_is_still_imported_in_the_request(
    client, both_kinds, queued, settings
):
    settings.SIGNERS_IMPORT_INLINE_MAX_ROWS = 200

    response = confirm(client, both_kinds)

    assert response["Location"] == reverse(
        "signers:letter-signatures", args=[both_kinds.slug]
    )
    assert Signature.objects.count() == 3
    assert not SignatureImportJob.objects.exists() and queued == []
    assert AuditEvent.objects.filter(action=Action.SIGNATURES_IMPORTED).exists()


def test_a_viewer_cannot_confirm_and_a_stranger_does_not_find_the_job(
    client, both_kinds, queued
):
    preview = client.post(url(both_kinds), {"file": SimpleUploadedFile("s.csv", FILE)})
    payload = preview.context["confirm"].initial["payload"]
    confirm(client, both_kinds)
    job = SignatureImportJob.objects.get()
    viewer = UserFactory()
    Membership.objects.create(
        letter=both_kinds, user=viewer, role=Membership.Role.VIEWER
    )
    client.force_login(viewer)

    assert client.post(url(both_kinds), {"payload": payload}).status_code == 403
    assert SignatureImportJob.objects.count() == 1
    assert client.get(job_url(job)).status_code == 200
    client.force_login(UserFactory())
    assert client.get(job_url(job)).status_code == 404


def test_a_job_a_dead_worker_left_running_fails_and_the_organiser_is_told(
    client, both_kinds, queued, organiser
):
    confirm(client, both_kinds)
    confirm(client, both_kinds, data=FILE.replace(b"Lyon", b"Nantes"))
    dead, alive = SignatureImportJob.objects.order_by("pk")
    now = timezone.now()
    # A worker took both; the first one's worker was killed long ago.
    SignatureImportJob.objects.filter(pk=dead.pk).update(
        status="running", started_at=now - imports.STALE_AFTER - dt.timedelta(1)
    )
    SignatureImportJob.objects.filter(pk=alive.pk).update(
        status="running", started_at=now - imports.STALE_AFTER + dt.timedelta(60)
    )

    assert imports.import_jobs_sweep(now=now) == (1, 0)
    assert imports.import_jobs_sweep(now=now) == (0, 0)

    dead.refresh_from_db()
    alive.refresh_from_db()
    assert (dead.status, alive.status) == ("failed", "running")
    assert dead.finished_at is not None and alive.finished_at is None
    page = client.get(job_url(dead)).content.decode()
    assert "The import stopped before the end. Nothing was imported." in page
    assert "hx-get" not in page
    row = OutboxMessage.objects.get(kind=EmailKind.IMPORT_FINISHED)
    assert row.to == organiser.email and row.params == {"job": dead.pk}
    # Its message delivered again finds it finished: still nothing imported.
    signature_import_job_task(dead.pk)
    assert not Signature.objects.exists()


def test_a_job_no_worker_took_is_queued_again_once_it_waited_too_long(
    client, both_kinds, queued, monkeypatch
):
    again: list[int] = []
    monkeypatch.setattr(signature_import_job_task, "delay", again.append)
    confirm(client, both_kinds)
    job = SignatureImportJob.objects.get()
    now = job.created_at

    assert imports.import_jobs_sweep(now=now + dt.timedelta(minutes=5)) == (0, 0)
    assert again == []
    assert imports.import_jobs_sweep(now=now + imports.REQUEUE_AFTER * 2) == (0, 1)
    assert again == [job.pk]

    signature_import_job_task(job.pk)
    job.refresh_from_db()
    assert job.status == "done" and job.started_at is not None
    assert imports.import_jobs_sweep(now=now + imports.REQUEUE_AFTER * 2) == (0, 0)


def test_beat_sweeps_import_jobs(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["signers-sweep-import-jobs"]
    assert entry["task"] == signature_import_job_task.name.replace(
        "signature_import_job_task", "import_jobs_sweep_task"
    )
    assert entry["schedule"] <= imports.REQUEUE_AFTER.total_seconds()
