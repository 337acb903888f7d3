"""Every email becomes an outbox row: the signer emails (``SignatureEmail``) and
the outreach deliveries (``Delivery``) move into ``outbox.OutboxMessage``.

Deliveries keep their id (the one-click unsubscribe links already in inboxes
name it), key and Message-ID; a delivery claimed when the site stopped goes
back to the queue. Signer emails get the outbox's keys and new ids. Sent rows
move too: their keys are what keeps a reminder from going twice.
"""

from django.core.management.color import no_style
from django.db import migrations

from coalition.outbox.services import message_id_for

DELIVERY_STATUS = {
    "planned": "queued",
    "claimed": "queued",
    "sent": "sent",
    "failed": "failed",
    "skipped": "cancelled",
}


def _delivery_row(Outbox, d):
    params = {"basis": d.basis}
    group = ""
    if d.batch_id:
        group = f"batch:{d.batch_id}"
    if d.update_id:
        params["update"] = d.update_id
        group = f"update:{d.update_id}"
    if d.call_id:
        params["call"] = d.call_id
        group = f"call:{d.call_id}"
    return Outbox(
        id=d.id,
        kind=d.kind,
        key=d.key,
        message_id=d.message_id,
        to=d.email,
        params=params,
        status=DELIVERY_STATUS[d.status],
        attempts=d.attempts,
        next_attempt_at=d.due_at,
        sent_at=d.sent_at,
        last_error=d.last_error,
        letter_id=d.letter_id,
        prospect_id=d.prospect_id,
        signature_id=d.signature_id,
        user_id=d.user_id,
        group=group,
    )


def _signature_email_row(Outbox, e):
    key = f"signature:{e.signature_id}:{e.kind}:{e.revision_id}"
    if e.kind == "status":  # may be asked for again: numbered
        key = f"{key}:0"
    if e.sent_at:
        status = "sent"
    elif e.signature.erased_at:
        status = "cancelled"
    else:
        status = "queued"
    return Outbox(
        kind=e.kind,
        key=key,
        message_id=message_id_for(key),
        to=e.signature.email,
        params={"revision": e.revision_id},
        status=status,
        attempts=e.attempts,
        next_attempt_at=e.created_at,
        sent_at=e.sent_at,
        letter_id=e.signature.letter_id,
        signature_id=e.signature_id,
    )


def move_emails_to_outbox(apps, schema_editor):
    Outbox = apps.get_model("outbox", "OutboxMessage")
    Delivery = apps.get_model("signers", "Delivery")
    SignatureEmail = apps.get_model("signers", "SignatureEmail")
    rows = [_delivery_row(Outbox, d) for d in Delivery.objects.order_by("pk")]
    Outbox.objects.bulk_create(rows, batch_size=1000)
    # Rows inserted with their own ids: the sequence goes on after them.
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [Outbox]):
            cursor.execute(sql)
    emails = SignatureEmail.objects.select_related("signature").order_by("pk")
    rows = [_signature_email_row(Outbox, e) for e in emails]
    Outbox.objects.bulk_create(rows, batch_size=1000)
    # When each was first recorded (auto_now_add set it to now above).
    for d in Delivery.objects.only("pk", "created_at"):
        Outbox.objects.filter(pk=d.pk).update(created_at=d.created_at)


class Migration(migrations.Migration):

    dependencies = [
        ("signers", "0006_lookalike_names_and_pending_expiry"),
        ("outbox", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(move_emails_to_outbox, migrations.RunPython.noop),
    ]
