"""Writes for coalition communications: updates, the signer-list digest and calls.

Every one of these emails is a Delivery row (kinds in
signers.communications.KINDS) planned with a unique key and sent by the same
claim-before-send machinery as the reminders (``signers.services.sending``); a
fan-out task queues the sends at once and the dispatcher picks up any whose
task was lost.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from coalition.models import User
from coalition.queue import enqueue_on_commit
from letters.models import Letter
from signers.models import (
    Call,
    CallInvitation,
    Delivery,
    ReminderSchedule,
    Update,
)
from signers.planning.calls import call_basis, call_delivery, call_team
from signers.planning.reminders import new_delivery
from signers.planning.updates import (
    consenting_signers,
    update_basis,
    update_deliveries,
    update_rate_window,
)
from signers.services.common import (
    audit_letter,
    live_signature,
    lock_letter,
    plan_deliveries,
    queue_planned,
)


@transaction.atomic
def update_create(
    *, letter: Letter, actor: User | None, subject: str, body: str, audience: str
) -> Update:
    """A draft update: nothing is sent until ``update_send``."""
    return Update.objects.create(
        letter=letter,
        created_by=actor,
        subject=" ".join(subject.split()),
        body=body.replace("\r\n", "\n"),
        audience=audience,
    )


@transaction.atomic
def update_edit(*, update: Update, subject: str, body: str, audience: str) -> Update:
    """Change a draft; raises ValidationError once it has been sent."""
    updated = Update.objects.filter(pk=update.pk, sent_at__isnull=True).update(
        subject=" ".join(subject.split()),
        body=body.replace("\r\n", "\n"),
        audience=audience,
        updated_at=timezone.now(),
    )
    if not updated:
        raise ValidationError(_("This update has been sent and cannot be changed."))
    update.refresh_from_db()
    return update


def update_limit_error(*, letter: Letter, now: datetime) -> ValidationError | None:
    """The weekly limit's refusal, saying when the next update may go; None
    while under the limit (SIGNERS_UPDATES_PER_WEEK in any seven days)."""
    limit = settings.SIGNERS_UPDATES_PER_WEEK
    sent = list(
        update_rate_window(letter=letter, now=now)
        .order_by("sent_at")
        .values_list("sent_at", flat=True)
    )
    if len(sent) < limit:
        return None
    next_at = sent[len(sent) - limit] + timedelta(days=7)
    with timezone.override(letter.time_zone):
        when = formats.date_format(timezone.localtime(next_at), "l j F, H:i")
    return ValidationError(
        _(
            "This letter has sent %(limit)d updates in the last seven days, the "
            "most allowed, so that signers are not flooded. The next one can go "
            "on %(when)s (%(zone)s time)."
        )
        % {"limit": limit, "when": when, "zone": letter.time_zone},
        code="rate_limited",
    )


@transaction.atomic
def update_send(*, update: Update, actor: User | None) -> int:
    """Send a draft update: one delivery per recipient, queued after commit.

    Locks the letter so two presses (or two organisers) cannot both pass the
    weekly limit; the update is marked sent by a conditional UPDATE, so a second
    press raises "already sent". Raises ValidationError over the limit or with
    nobody to send to. Returns the number of recipients.
    """

    letter = update.letter
    lock_letter(pk=letter.pk)
    now = timezone.now()
    if Update.objects.filter(pk=update.pk, sent_at__isnull=False).exists():
        raise ValidationError(_("This update has already been sent."), code="sent")
    error = update_limit_error(letter=letter, now=now)
    if error is not None:
        raise error
    rows = update_deliveries(update, now=now)
    if not rows:
        raise ValidationError(
            _("Nobody to send this to yet: no one in this audience can be emailed."),
            code="empty",
        )
    Update.objects.filter(pk=update.pk, sent_at__isnull=True).update(
        sent_at=now, sent_by=actor, updated_at=now
    )
    plan_deliveries(rows)
    audit_letter(letter, actor, "update.sent", update=update.pk, recipients=len(rows))
    enqueue_on_commit("signers.tasks.update_fan_out_task", update.pk)
    update.refresh_from_db()
    return len(rows)


def update_fan_out(*, update_id: int) -> int:
    """Queue the sends of an update's planned deliveries (safe to run again)."""
    return queue_planned(Delivery.objects.filter(update_id=update_id))


@transaction.atomic
def update_send_test(*, update: Update, actor: User) -> Delivery:
    """Send the update to ``actor`` alone, marked as a test; any number of
    times, none counting toward the weekly limit."""
    now = timezone.now()
    delivery = new_delivery(
        letter=update.letter,
        kind=Delivery.Kind.UPDATE_TEST,
        basis=f"{update_basis(update)}/test/{now.isoformat()}",
        due_at=now,
        user=actor,
    )
    delivery.update = update
    delivery.save()
    queue_planned(Delivery.objects.filter(pk=delivery.pk))
    return delivery


@transaction.atomic
def signer_list_digest_set(
    *, letter: Letter, actor: User | None, frequency: str
) -> ReminderSchedule:
    """Turn the weekly signer list on ("weekly") or off ("off")."""
    schedule, _created = ReminderSchedule.objects.update_or_create(
        letter=letter, defaults={"signer_list_digest": frequency}
    )
    audit_letter(letter, actor, "signer_list.schedule_changed", frequency=frequency)
    return schedule


# --- Calls ---------------------------------------------------------------------------


def _call_invite_everyone(call: Call, *, now: datetime) -> None:
    """Invite consenting signers and the team (each address once), and plan an
    invitation for each at the call's current start: moving the call sends an
    updated invitation, leaving it where it was sends nothing new."""
    letter = call.letter
    signers = list(consenting_signers(letter))
    emails_ = {s.email.lower() for s in signers}
    team = call_team(letter, exclude_emails=emails_)
    CallInvitation.objects.bulk_create(
        [CallInvitation(call=call, email=s.email.lower(), signature=s) for s in signers]
        + [CallInvitation(call=call, email=u.email.lower(), user=u) for u in team],
        ignore_conflicts=True,
    )
    if call.starts_at <= now:
        return
    basis = call_basis(call)
    invitations = call.invitations.exclude(
        response=CallInvitation.Response.NO
    ).select_related("signature", "user")
    plan_deliveries(
        [
            call_delivery(
                call, i, kind=Delivery.Kind.CALL_INVITATION, basis=basis, due_at=now
            )
            for i in invitations
        ]
    )


def _call_fan_out_on_commit(call: Call) -> None:

    enqueue_on_commit("signers.tasks.call_fan_out_task", call.pk)


def _call_errors(starts_at: datetime, now: datetime) -> None:
    if starts_at <= now:
        raise ValidationError({"starts_at": _("Choose a time in the future.")})


@transaction.atomic
def call_create(
    *,
    letter: Letter,
    actor: User | None,
    title: str,
    starts_at: datetime,
    duration_minutes: int,
    join_url: str,
    agenda: str = "",
) -> Call:
    """Schedule a call and invite consenting signers and the team (each gets
    an .ics); reminders follow from the dispatcher at 60 and 5 minutes."""
    now = timezone.now()
    _call_errors(starts_at, now)
    call = Call.objects.create(
        letter=letter,
        created_by=actor,
        title=title.strip(),
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        join_url=join_url,
        agenda=agenda.replace("\r\n", "\n"),
    )
    _call_invite_everyone(call, now=now)
    audit_letter(letter, actor, "call.scheduled", call=call.pk, title=call.title)
    _call_fan_out_on_commit(call)
    return call


@transaction.atomic
def call_update(
    *,
    call: Call,
    actor: User | None,
    title: str,
    starts_at: datetime,
    duration_minutes: int,
    join_url: str,
    agenda: str = "",
) -> Call:
    """Change a call. A new start raises its SEQUENCE and sends everyone an
    updated invitation; reminders planned for the old start are skipped."""
    locked = Call.objects.select_for_update().select_related("letter").get(pk=call.pk)
    now = timezone.now()
    moved = locked.starts_at != starts_at
    if moved:
        _call_errors(starts_at, now)
        locked.sequence += 1
    locked.title = title.strip()
    locked.starts_at = starts_at
    locked.duration_minutes = duration_minutes
    locked.join_url = join_url
    locked.agenda = agenda.replace("\r\n", "\n")
    locked.save()
    if moved:
        _call_invite_everyone(locked, now=now)
        _call_fan_out_on_commit(locked)
    audit_letter(locked.letter, actor, "call.changed", call=call.pk, moved=moved)
    return locked


def call_fan_out(*, call_id: int) -> int:
    """Queue the sends of a call's planned invitations or notes (idempotent)."""
    return queue_planned(Delivery.objects.filter(call_id=call_id))


@transaction.atomic
def call_rsvp(*, invitation_id: int, response: str) -> bool:
    """Record yes or no; False if that was already the answer. Refused (code
    ``not_live``) when the invitation went to a signature now off the letter."""
    if response not in (CallInvitation.Response.YES, CallInvitation.Response.NO):
        raise ValidationError(_("Answer yes or no."))
    signature_id = (
        CallInvitation.objects.filter(pk=invitation_id)
        .values_list("signature_id", flat=True)
        .get()
    )
    if signature_id is not None:
        live_signature(signature_id)
    return bool(
        CallInvitation.objects.filter(pk=invitation_id)
        .exclude(response=response)
        .update(response=response, responded_at=timezone.now())
    )


@transaction.atomic
def call_notes_post(*, call: Call, actor: User | None, notes: str) -> bool:
    """Save the notes after the call; the first time, email them to everyone
    invited (once: later corrections are saved, not re-sent). Returns True when
    this call sent them."""
    now = timezone.now()
    if call.starts_at > now:
        raise ValidationError(_("Notes can be posted once the call has started."))
    if not notes.strip():
        raise ValidationError({"notes": _("Write the notes first.")})
    Call.objects.filter(pk=call.pk).update(
        notes=notes.replace("\r\n", "\n"), updated_at=now
    )
    first = Call.objects.filter(pk=call.pk, notes_sent_at__isnull=True).update(
        notes_sent_at=now
    )
    if not first:
        return False
    call.refresh_from_db()
    invitations = call.invitations.select_related("signature", "user")
    basis = f"call{call.pk}/notes"
    plan_deliveries(
        [
            call_delivery(
                call, i, kind=Delivery.Kind.CALL_NOTES, basis=basis, due_at=now
            )
            for i in invitations
        ]
    )
    audit_letter(call.letter, actor, "call.notes_sent", call=call.pk)
    _call_fan_out_on_commit(call)
    return True
