"""The builders of the organisers' answers to change requests, of the
notices that someone signed and of the end of a background signer import
(``signers.emails.BUILDERS`` lists them)."""

from django.urls import reverse

from coalition.emails import render_email
from coalition.links import absolute
from coalition.outbox.builders import Email
from coalition.outbox.models import OutboxMessage
from signers.models import ChangeRequest, Signature, SignatureImportJob
from signers.selectors.triage import anchored_part, requester_email


def build_change_request_reply(row: OutboxMessage) -> Email | None:
    """The organisers' reply to the person who asked for a change, with their
    request; replies to them go to the organiser who answered."""
    request = (
        ChangeRequest.objects.filter(pk=row.params.get("change_request"))
        .select_related(
            "letter",
            "revision",
            "accepted_revision",
            "replied_by",
            "signature",
            "prospect",
        )
        .first()
    )
    if request is None or not request.reply or not requester_email(request):
        return None
    letter = request.letter
    part, part_text = anchored_part(request.revision, request.anchor)
    replier = request.replied_by
    reply_to = [replier.email] if replier else []
    if not reply_to and letter.reply_to:
        reply_to = [letter.reply_to]
    context = {
        "letter": letter,
        "request": request,
        "part": part,
        "part_text": part_text,
        "replier": replier.display_name if replier else "",
    }
    message = render_email(
        "signers/change_request_reply",
        context,
        to=[row.to],
        reply_to=reply_to or None,
        time_zone=letter.time_zone,
    )
    return Email.from_message(message)


def build_signing_notice(row: OutboxMessage) -> Email | None:
    """Who signed the letter in one quarter of an hour, to one organiser;
    nothing if all of them have withdrawn or been erased since."""
    if row.letter is None:
        return None
    letter = row.letter
    ids = [int(pk) for pk in row.params.get("signatures", [])]
    signatures = list(
        Signature.objects.filter(
            pk__in=ids,
            letter=letter,
            status__in=Signature.SIGNED_STATUSES,
            erased_at__isnull=True,
        )
        .select_related("revision")
        .order_by("confirmed_at", "id")
    )
    if not signatures:
        return None
    context = {
        "letter": letter,
        "signatures": signatures,
        "count": len(signatures),
        "signers_url": absolute(
            reverse("signers:letter-signatures", kwargs={"slug": letter.slug})
        ),
        "settings_url": absolute(reverse("signers:notice-settings")),
    }
    message = render_email(
        "signers/signing_notice", context, to=[row.to], time_zone=letter.time_zone
    )
    return Email.from_message(message)


def build_import_finished(row: OutboxMessage) -> Email | None:
    """To the organiser who confirmed a signer import that ran in a worker:
    how many signers it brought, or that it brought none and why."""
    job = (
        SignatureImportJob.objects.filter(pk=row.params.get("job"))
        .select_related("letter")
        .defer("payload")
        .first()
    )
    if job is None or not job.finished:
        return None
    letter = job.letter
    slug = letter.slug
    context = {
        "letter": letter,
        "job": job,
        "imported": job.status == SignatureImportJob.Status.DONE,
        "job_url": absolute(
            reverse(
                "signers:signature-import-job", kwargs={"slug": slug, "job": job.pk}
            )
        ),
        "signers_url": absolute(
            reverse("signers:letter-signatures", kwargs={"slug": slug})
        ),
    }
    message = render_email(
        "signers/signature_import_finished",
        context,
        to=[row.to],
        time_zone=letter.time_zone,
    )
    return Email.from_message(message)
