import re
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from coalition.outbox.dispatcher import outbox_dispatch
from coalition.outbox.models import OutboxMessage
from coalition.outbox.tasks import outbox_dispatch_task
from coalition.tokens import read_token
from letters import public_pages
from letters.audit import describe
from letters.models import AuditEvent, Letter, Revision
from signers.models import ChangeRequest, EmailKind, Prospect, Signature
from signers.selectors.signatures import signature_count_public
from signers.services.personal_data import signature_erase_personal_data
from signers.services.responses import (
    change_request_create,
    prospect_decline,
    prospect_mark_opened,
    referral_create,
)
from signers.services.signatures import (
    signature_approve,
    signature_confirm,
    signature_decide_name_change,
    signature_reconfirm,
    signature_reject,
    signature_set_sort_name,
    signature_status_send,
    signature_update_public_details,
    signature_withdraw,
    signatures_on_new_revision,
)
from signers.services.signing import signature_create
from signers.tasks import signatures_expire_pending_task
from tests.factories import ProspectFactory, RevisionFactory, SignatureFactory
from tests.signers.helpers import send_queued_emails, sign, signature_emails

pytestmark = pytest.mark.django_db

Status = Signature.Status


def publish(letter, *, kind, body="We ask the Council to act now."):
    """What letters.services does when it publishes revision N+1."""
    number = letter.current_revision.number + 1
    revision = RevisionFactory(letter=letter, number=number, kind=kind, body=body)
    letter.current_revision = revision
    fields = ["current_revision"]
    if kind == Revision.Kind.MATERIAL:
        letter.last_material_revision_number = number
        fields.append("last_material_revision_number")
    letter.save(update_fields=fields)
    signatures_on_new_revision(revision=revision)
    return revision


def version(letter):
    return Letter.objects.get(pk=letter.pk).signers_version


# --- Invitation and open join -------------------------------------------------


def test_signing_a_page_whose_text_a_material_revision_replaced_is_refused(
    letter, prospect
):
    shown = Letter.objects.get(pk=letter.pk)  # the signing page was read
    publish(letter, kind=Revision.Kind.MATERIAL)

    with pytest.raises(ValidationError) as refused:
        sign(shown, prospect=prospect)

    assert refused.value.code == "revision_changed"
    assert not Signature.objects.filter(letter=letter).exists()


def test_signing_from_an_invitation_confirms_at_once_on_the_shown_revision(
    letter, prospect, django_capture_on_commit_callbacks
):
    before = version(letter)
    with django_capture_on_commit_callbacks() as callbacks:
        signature = sign(letter, prospect=prospect, email=prospect.email.upper())

    assert signature.status == Status.CONFIRMED
    assert signature.revision == letter.current_revision
    assert signature.email == prospect.email
    assert signature.sort_name == "friends of the park"
    assert Prospect.objects.get(pk=prospect.pk).status == Prospect.Status.SIGNED
    assert version(letter) == before + 1
    assert signature_count_public(letter=letter) == 1
    receipt = signature_emails().get(signature=signature)
    assert receipt.kind == EmailKind.RECEIPT
    # The email's dispatch and the public pages' new generation, only after commit.
    assert len(callbacks) == 2
    assert public_pages._new_generation in callbacks


def test_invitation_signed_with_another_address_must_confirm_that_address(
    letter, prospect
):
    signature = sign(letter, prospect=prospect, email="someone.else@example.org")

    assert signature.status == Status.PENDING
    assert signature_count_public(letter=letter) == 0
    assert signature_emails().get().kind == EmailKind.CONFIRM_REQUEST


def test_a_referred_prospect_signs_with_source_referral(letter):
    referrer = sign(letter, display_name="Referrer", email="r@example.org")
    prospect = ProspectFactory(letter=letter, referred_by=referrer)

    signature = sign(letter, prospect=prospect, email=prospect.email)

    assert signature.source == Signature.Source.REFERRAL


def test_open_join_is_pending_until_the_email_link_is_confirmed(open_letter):
    signature = sign(open_letter, source=Signature.Source.OPEN_JOIN)
    assert signature.status == Status.PENDING
    assert signature_count_public(letter=open_letter) == 0

    assert signature_confirm(
        signature_id=signature.pk, revision_id=open_letter.current_revision_id
    )
    signature.refresh_from_db()
    assert signature.status == Status.CONFIRMED
    assert signature.confirmed_at is not None
    assert signature_count_public(letter=open_letter) == 1
    # The second click is "already done", not a second confirmation.
    assert not signature_confirm(
        signature_id=signature.pk, revision_id=open_letter.current_revision_id
    )
    kinds = set(signature_emails().values_list("kind", flat=True))
    assert kinds == {EmailKind.CONFIRM_REQUEST, EmailKind.RECEIPT}


def test_confirming_binds_to_the_current_text_not_a_stale_page(open_letter):
    signature = sign(open_letter, source=Signature.Source.OPEN_JOIN)
    old = open_letter.current_revision_id
    publish(open_letter, kind=Revision.Kind.MATERIAL)

    with pytest.raises(ValidationError) as exc:
        signature_confirm(signature_id=signature.pk, revision_id=old)
    assert exc.value.code == "revision_changed"
    assert signature_confirm(
        signature_id=signature.pk, revision_id=open_letter.current_revision_id
    )
    signature.refresh_from_db()
    assert signature.revision_id == open_letter.current_revision_id


def test_open_join_with_approval_waits_for_the_organisers(open_letter, organiser):
    open_letter.join_requires_approval = True
    open_letter.save()
    signature = sign(open_letter, source=Signature.Source.OPEN_JOIN)
    signature_confirm(
        signature_id=signature.pk, revision_id=open_letter.current_revision_id
    )
    signature.refresh_from_db()
    assert signature.status == Status.PENDING_APPROVAL
    assert signature_count_public(letter=open_letter) == 0

    assert signature_approve(signature=signature, actor=organiser)
    assert not signature_approve(signature=signature, actor=organiser)

    signature.refresh_from_db()
    assert signature.status == Status.CONFIRMED
    assert signature_count_public(letter=open_letter) == 1
    assert signature_emails(kind=EmailKind.APPROVED).exists()


def test_rejection_takes_the_signer_off_and_tells_them_why(
    letter, organiser, mailoutbox
):
    signature = sign(letter, email="x@example.org", display_name="Spam Inc")
    send_queued_emails()
    mailoutbox.clear()

    assert signature_reject(
        signature=signature, actor=organiser, reason="Not a real organisation."
    )
    assert not signature_reject(signature=signature, actor=organiser, reason="again")
    send_queued_emails()

    signature.refresh_from_db()
    assert signature.status == Status.REJECTED
    assert signature_count_public(letter=letter) == 0
    assert len(mailoutbox) == 1
    assert "Not a real organisation." in mailoutbox[0].body
    assert AuditEvent.objects.filter(action="signature.rejected").exists()


# --- Refusals: nothing saved --------------------------------------------------


@pytest.mark.parametrize(
    ("name", "email"),
    [
        ("the friends of the park", "other@example.org"),  # same organisation
        ("Another Name", "CHAIR@friends.example.org"),  # same email
    ],
)
def test_a_second_signature_for_one_organisation_is_kindly_refused(letter, name, email):
    sign(letter, display_name="Friends of the Park")

    with pytest.raises(ValidationError) as exc:
        sign(letter, display_name=name, email=email)

    assert exc.value.code == "duplicate"
    assert "already signed" in exc.value.messages[0]
    # Nothing of the signature already there: not its name as listed.
    assert "Friends of the Park" not in exc.value.messages[0]
    assert Signature.objects.count() == 1


def test_a_withdrawn_organisation_may_sign_again(letter):
    first = sign(letter)
    signature_withdraw(signature_id=first.pk)

    again = sign(letter, prospect=first.prospect)

    assert again.pk != first.pk
    assert Signature.objects.count() == 2


def test_signing_a_text_that_is_no_longer_current_is_refused(letter):
    old = letter.current_revision_id
    publish(letter, kind=Revision.Kind.EDITORIAL)

    with pytest.raises(ValidationError) as exc:
        signature_create(
            letter=letter,
            revision_id=old,
            source=Signature.Source.INVITATION,
            display_name="Late Org",
            email="late@example.org",
            attested=True,
        )
    assert exc.value.code == "revision_changed"
    assert not Signature.objects.exists()


def test_organisations_must_attest_they_may_sign(letter):
    with pytest.raises(ValidationError) as exc:
        sign(letter, attested=False)
    assert "attested" in exc.value.message_dict
    assert not Signature.objects.exists()


@pytest.mark.parametrize(
    ("changes", "source"),
    [
        ({"status": Letter.Status.DRAFT}, Signature.Source.INVITATION),
        ({"status": Letter.Status.CLOSED}, Signature.Source.INVITATION),
        ({"status": Letter.Status.CIRCULATING}, Signature.Source.OPEN_JOIN),
        ({"open_joining": False}, Signature.Source.OPEN_JOIN),
    ],
)
def test_letters_not_taking_signatures_refuse_them(open_letter, changes, source):
    for field, value in changes.items():
        setattr(open_letter, field, value)
    open_letter.save()

    with pytest.raises(ValidationError) as exc:
        sign(open_letter, source=source)
    assert exc.value.code == "closed"


def test_nothing_is_signed_after_the_hard_deadline(letter):
    letter.hard_deadline = timezone.now() + timezone.timedelta(days=1)
    letter.time_zone = "Europe/Paris"
    letter.save()

    after = letter.hard_deadline + timezone.timedelta(minutes=1)
    with time_machine.travel(after), pytest.raises(ValidationError) as exc:
        sign(letter)
    assert "Signing closed on" in exc.value.messages[0]
    assert "Europe/Paris" in exc.value.messages[0]


# --- Withdrawal ---------------------------------------------------------------


def test_withdrawal_keeps_the_row_tells_the_signer_and_the_organisers(
    letter, mailoutbox
):
    signature = sign(letter)
    before = version(letter)

    assert signature_withdraw(signature_id=signature.pk)
    assert not signature_withdraw(signature_id=signature.pk)
    send_queued_emails()

    signature.refresh_from_db()
    assert signature.status == Status.WITHDRAWN
    assert signature.withdrawn_at is not None
    assert signature_count_public(letter=letter) == 0
    assert version(letter) == before + 1
    assert AuditEvent.objects.get(action="signature.withdrawn").letter == letter
    assert [m.subject for m in mailoutbox][-1].startswith("You have withdrawn")


# --- New revisions ------------------------------------------------------------


def test_editorial_revision_keeps_signers_and_sends_them_the_diff(letter, mailoutbox):
    signature = sign(letter)
    send_queued_emails()
    mailoutbox.clear()

    publish(letter, kind=Revision.Kind.EDITORIAL, body="We ask the Council to act!")
    send_queued_emails()

    signature.refresh_from_db()
    assert signature.status == Status.CONFIRMED
    assert signature_count_public(letter=letter) == 1
    (notice,) = mailoutbox
    assert "editorial change" in notice.body
    assert "[-act.-]" in notice.body and "{+act!+}" in notice.body
    withdraw = re.search(r"http://testserver/s/withdraw/([^/\s]+)/", notice.body)
    assert read_token("withdraw", withdraw.group(1)) == signature.pk


def test_material_revision_uncounts_signers_until_they_reconfirm(letter, mailoutbox):
    signature = sign(letter)
    other = sign(letter, display_name="Other Org", email="o@example.org")
    send_queued_emails()
    mailoutbox.clear()
    before = version(letter)

    new = publish(letter, kind=Revision.Kind.MATERIAL, body="We demand it today.")

    signature.refresh_from_db()
    assert signature.status == Status.NEEDS_RECONFIRMATION
    assert signature_count_public(letter=letter) == 0
    assert version(letter) > before
    send_queued_emails()
    assert len(mailoutbox) == 2
    body = mailoutbox[0].body
    assert "material change" in body
    assert "{+demand+}" in body
    token = re.search(r"http://testserver/s/reconfirm/([^/\s]+)/", body).group(1)
    assert read_token("reconfirm", token) in {signature.pk, other.pk}

    assert signature_reconfirm(signature_id=signature.pk, revision_id=new.pk)
    assert not signature_reconfirm(signature_id=signature.pk, revision_id=new.pk)
    signature.refresh_from_db()
    assert signature.status == Status.CONFIRMED
    assert signature.revision == new
    assert signature_count_public(letter=letter) == 1
    assert signature_emails(
        signature=signature, kind=EmailKind.RECEIPT, params__revision=new.pk
    ).exists()


def test_signers_who_never_reconfirmed_are_asked_again_on_the_next_material_change(
    letter,
):
    signature = sign(letter)
    publish(letter, kind=Revision.Kind.MATERIAL, body="Second text.")
    third = publish(letter, kind=Revision.Kind.MATERIAL, body="Third text.")

    assert (
        signature_emails(signature=signature, kind=EmailKind.RECONFIRM_REQUEST).count()
        == 2
    )
    assert signature_reconfirm(signature_id=signature.pk, revision_id=third.pk)


def test_an_open_join_approved_after_a_material_change_must_reconfirm(
    open_letter, organiser
):
    open_letter.join_requires_approval = True
    open_letter.save()
    signature = sign(open_letter, source=Signature.Source.OPEN_JOIN)
    signature_confirm(
        signature_id=signature.pk, revision_id=open_letter.current_revision_id
    )
    publish(open_letter, kind=Revision.Kind.MATERIAL)

    signature_approve(signature=signature, actor=organiser)

    signature.refresh_from_db()
    assert signature.status == Status.NEEDS_RECONFIRMATION
    assert signature_count_public(letter=open_letter) == 0


# --- Details, sort names, erasure ---------------------------------------------


def test_signer_corrects_details_at_once_but_a_new_name_waits_for_approval(
    letter, organiser
):
    signature = sign(letter)
    before = version(letter)

    waiting = signature_update_public_details(
        signature_id=signature.pk,
        display_name="Friends of Springfield Park",
        city="Shelbyville",
        country="United Kingdom",
    )

    signature.refresh_from_db()
    assert waiting
    assert signature.city == "Shelbyville"
    assert signature.display_name == "Friends of the Park"
    assert signature.requested_display_name == "Friends of Springfield Park"
    assert version(letter) == before + 1

    assert signature_decide_name_change(
        signature=signature, actor=organiser, approve=True
    )
    signature.refresh_from_db()
    assert signature.display_name == "Friends of Springfield Park"
    assert signature.normalised_name == "friends of springfield park"
    assert signature.requested_display_name == ""


def test_a_new_name_that_belongs_to_another_signer_is_refused(letter, organiser):
    sign(letter, display_name="Taken Name", email="t@example.org")
    signature = sign(letter)
    signature_update_public_details(
        signature_id=signature.pk, display_name="The Taken Name"
    )

    with pytest.raises(ValidationError):
        signature_decide_name_change(signature=signature, actor=organiser, approve=True)
    signature.refresh_from_db()
    assert signature.display_name == "Friends of the Park"


def test_organiser_sets_a_sort_name(letter, organiser):
    signature = sign(letter, display_name="The The")
    signature_set_sort_name(signature=signature, actor=organiser, sort_name="The The")
    signature.refresh_from_db()
    assert signature.sort_name == "the the"


def test_erasure_blanks_personal_data_and_keeps_the_count(letter, organiser):
    letter.signer_kinds = Letter.SignerKinds.BOTH
    letter.save()
    org = sign(letter, phone="+44 1234", comment="call me")
    person = sign(
        letter,
        kind=Signature.Kind.INDIVIDUAL,
        display_name="Ada Lovelace",
        email="ada@example.org",
        attested=False,
    )
    assert signature_count_public(letter=letter) == 2

    assert signature_erase_personal_data(signature=org, actor=organiser)
    assert signature_erase_personal_data(signature=person, actor=organiser)
    assert not signature_erase_personal_data(signature=org, actor=organiser)

    org.refresh_from_db()
    person.refresh_from_db()
    assert (org.contact_name, org.phone, org.comment) == ("", "", "")
    assert org.email.endswith("@erased.invalid")
    assert org.display_name == "Friends of the Park"
    assert "Ada" not in person.display_name
    assert not person.consent_listed
    assert signature_count_public(letter=letter) == 2
    assert Signature.objects.filter(letter=letter).count() == 2


# --- Referrals, change requests, prospects ------------------------------------


def test_referral_becomes_a_prospect_credited_to_the_signer(letter):
    signature = sign(letter)

    prospect = referral_create(
        signature=signature,
        organisation=" Parents  for Clean Air ",
        email="Hello@Parents.example.org",
        note="They ran the petition",
    )

    assert prospect.referred_by == signature
    assert prospect.letter == letter
    assert prospect.organisation == "Parents for Clean Air"
    assert prospect.email == "hello@parents.example.org"
    with pytest.raises(ValidationError):
        referral_create(
            signature=signature, organisation="Again", email="hello@parents.example.org"
        )


def test_change_request_is_anchored_to_a_point(letter):
    revision = letter.current_revision
    request = change_request_create(
        revision=revision, anchor="point-2", text="Say 'this year'."
    )
    assert request.letter == letter
    with pytest.raises(ValidationError):
        change_request_create(revision=revision, anchor="point-9", text="Nowhere")


def test_opening_an_invitation_marks_the_prospect_opened_but_never_undoes_an_answer(
    letter,
):
    invited = ProspectFactory(letter=letter, status=Prospect.Status.INVITED)
    declined = ProspectFactory(letter=letter, status=Prospect.Status.DECLINED)

    assert prospect_mark_opened(prospect_id=invited.pk)
    assert not prospect_mark_opened(prospect_id=declined.pk)

    invited.refresh_from_db()
    declined.refresh_from_db()
    assert invited.status == Prospect.Status.OPENED
    assert invited.opened_at is not None
    assert declined.status == Prospect.Status.DECLINED


def test_declining_records_the_reason_and_the_change_that_would_help(prospect):
    assert prospect_decline(
        prospect_id=prospect.pk,
        reason="Too vague.",
        anchor="point-1",
        change="Name the date.",
    )
    assert not prospect_decline(prospect_id=prospect.pk, reason="again")

    prospect.refresh_from_db()
    assert prospect.status == Prospect.Status.DECLINED
    assert prospect.decline_reason == "Too vague."
    request = ChangeRequest.objects.get()
    assert (request.prospect, request.anchor) == (prospect, "point-1")


# --- Email sending ------------------------------------------------------------


def test_a_signer_email_goes_once_when_dispatched_twice(letter, mailoutbox):
    sign(letter)
    email = signature_emails().get()

    outbox_dispatch()
    outbox_dispatch()

    assert len(mailoutbox) == 1
    email.refresh_from_db()
    assert email.sent_at is not None
    assert mailoutbox[0].extra_headers["Message-ID"] == email.message_id


def test_email_refused_by_the_server_is_sent_on_the_retry(letter, smtp_settings):
    sign(letter)
    email = signature_emails().get()
    smtp_settings.refuse_next = 1

    assert outbox_dispatch().retrying == 1
    email.refresh_from_db()
    assert (email.status, email.sent_at) == (OutboxMessage.Status.QUEUED, None)

    assert outbox_dispatch(now=email.next_attempt_at).sent == 1
    assert len(smtp_settings.wait_for(1)) == 1


def test_email_whose_kick_the_broker_lost_is_sent_by_beats_dispatcher(
    letter, settings, mailoutbox
):
    # Signing kicks the dispatcher on commit; here nothing runs it, as when
    # Redis restarts empty before a worker takes the message.
    sign(letter)
    entry = settings.CELERY_BEAT_SCHEDULE["outbox-dispatch"]

    assert entry["task"] == outbox_dispatch_task.name
    assert entry["schedule"] == 60.0
    assert outbox_dispatch_task()["sent"] == 1
    assert outbox_dispatch_task()["sent"] == 0
    assert len(mailoutbox) == 1


def test_email_claimed_by_a_live_sender_is_not_sent_again_until_the_claim_is_stale(
    letter, settings, mailoutbox
):
    sign(letter)
    now = timezone.now()
    signature_emails().update(
        status=OutboxMessage.Status.SENDING, claimed_at=now, attempts=1
    )
    stale = settings.OUTBOX_CLAIM_TIMEOUT

    assert outbox_dispatch(now=now + timedelta(seconds=stale - 5)).claimed == 0
    assert outbox_dispatch(now=now + timedelta(seconds=stale + 5)).sent == 1
    assert len(mailoutbox) == 1


def test_erased_signers_get_no_email(letter, organiser, mailoutbox):
    signature = sign(letter)
    signature_erase_personal_data(signature=signature, actor=organiser)

    send_queued_emails()

    assert mailoutbox == []


def test_signature_factory_rows_count_only_when_confirmed(letter):
    SignatureFactory(letter=letter, status=Status.CONFIRMED)
    SignatureFactory(letter=letter, status=Status.PENDING)
    SignatureFactory(letter=letter, status=Status.NEEDS_RECONFIRMATION)
    SignatureFactory(letter=letter, status=Status.WITHDRAWN)

    assert signature_count_public(letter=letter) == 1


# --- Name squatting: unconfirmed signatures expire and never block a proven one -


def strangers_pending(letter, **kwargs):
    fields = {"display_name": "The X Trust", "email": "stranger@example.net"}
    fields.update(kwargs)
    return sign(letter, source=Signature.Source.OPEN_JOIN, **fields)


@pytest.mark.parametrize("route", ["invitation", "import"])
def test_a_proven_signer_takes_the_name_a_stranger_left_unconfirmed(
    open_letter, route, mailoutbox
):
    squatter = strangers_pending(open_letter)
    assert squatter.status == Status.PENDING
    send_queued_emails()  # the stranger's confirmation request
    mailoutbox.clear()

    real = sign(
        open_letter,
        source=Signature.Source.INVITATION
        if route == "invitation"
        else Signature.Source.IMPORT,
        display_name="X Trust",
        email="director@xtrust.example.org",
    )
    send_queued_emails()

    squatter.refresh_from_db()
    assert real.status == Status.CONFIRMED
    assert squatter.status == Status.SET_ASIDE
    assert signature_count_public(letter=open_letter) == 1
    notice = [m for m in mailoutbox if m.to == ["stranger@example.net"]]
    assert len(notice) == 1
    assert "as The X Trust with this email address" in notice[0].body
    assert "set the unconfirmed signature aside" in notice[0].body
    assert "director@xtrust.example.org" not in notice[0].body
    event = AuditEvent.objects.get(action="signature.set_aside")
    assert event.detail["signature"] == squatter.pk
    assert "unconfirmed signature of The X Trust" in describe(event)


def test_a_signers_own_unconfirmed_signature_is_set_aside_without_a_notice(
    open_letter, mailoutbox
):
    earlier = strangers_pending(open_letter, email="director@xtrust.example.org")

    sign(open_letter, display_name="X Trust", email="director@xtrust.example.org")
    send_queued_emails()

    earlier.refresh_from_db()
    assert earlier.status == Status.SET_ASIDE
    assert [m.subject for m in mailoutbox if "unconfirmed" in m.subject] == []


def test_an_unconfirmed_signature_still_blocks_another_unconfirmed_one(open_letter):
    strangers_pending(open_letter)

    with pytest.raises(ValidationError) as exc:
        strangers_pending(open_letter, email="another@example.net")

    assert exc.value.code == "duplicate"
    assert Signature.objects.count() == 1


def test_an_unconfirmed_signature_past_its_time_blocks_nobody(open_letter, settings):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        old = strangers_pending(open_letter)
    hours = settings.SIGNERS_PENDING_EXPIRY_HOURS

    with time_machine.travel(start + timedelta(hours=hours, minutes=1), tick=False):
        again = strangers_pending(open_letter, email="another@example.net")

    old.refresh_from_db()
    assert old.status == Status.EXPIRED
    assert again.status == Status.PENDING


def test_two_proven_signers_of_one_name_still_collide(letter):
    sign(letter, display_name="X Trust", email="one@xtrust.example.org")

    with pytest.raises(ValidationError) as exc:
        sign(letter, display_name="The X Trust", email="two@xtrust.example.org")

    assert exc.value.code == "duplicate"
    assert Signature.objects.get().email == "one@xtrust.example.org"


def test_a_confirmation_after_the_expiry_confirms_nothing(open_letter, settings):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        pending = strangers_pending(open_letter)
    later = start + timedelta(hours=settings.SIGNERS_PENDING_EXPIRY_HOURS, seconds=1)

    with time_machine.travel(later, tick=False):
        done = signature_confirm(
            signature_id=pending.pk, revision_id=open_letter.current_revision_id
        )

    pending.refresh_from_db()
    assert done is False
    assert pending.status == Status.EXPIRED
    assert signature_count_public(letter=open_letter) == 0


def test_beat_expires_unconfirmed_signatures_once(open_letter, settings):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        pending = strangers_pending(open_letter)
        fresh = strangers_pending(open_letter, display_name="Y", email="y@example.net")
    later = start + timedelta(hours=settings.SIGNERS_PENDING_EXPIRY_HOURS, seconds=1)
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        fresh.created_at = timezone.now()
        fresh.save(update_fields=["created_at"])

    with time_machine.travel(later, tick=False):
        first, second = (
            signatures_expire_pending_task(),
            signatures_expire_pending_task(),
        )

    assert (first, second) == (1, 0)
    assert Signature.objects.get(pk=pending.pk).status == Status.EXPIRED
    assert Signature.objects.get(pk=fresh.pk).status == Status.PENDING


# --- Disclosure: a taken address is told its status by email, nobody else -------


def test_a_taken_address_is_sent_its_status_on_request_and_only_it(
    open_letter, mailoutbox
):
    quiet = sign(
        open_letter,
        display_name="Quiet Group",
        email="quiet@example.org",
        consent_listed=False,
    )
    send_queued_emails()
    mailoutbox.clear()

    asked = signature_status_send(letter=open_letter, email="QUIET@example.org")
    stranger = signature_status_send(letter=open_letter, email="nobody@example.org")
    send_queued_emails()

    assert (asked, stranger) == (True, False)
    (message,) = mailoutbox
    assert message.to == [quiet.email]
    assert "Quiet Group has signed" in message.body
    assert "not listed publicly" in message.body
    assert "/s/withdraw/" in message.body


def test_a_status_email_goes_at_most_once_an_hour(open_letter, mailoutbox):
    sign(open_letter, display_name="Quiet Group", email="quiet@example.org")
    send_queued_emails()
    mailoutbox.clear()
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        sent = [
            signature_status_send(letter=open_letter, email="quiet@example.org")
            for _ in range(3)
        ]
        send_queued_emails()
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        sent.append(
            signature_status_send(letter=open_letter, email="quiet@example.org")
        )
        send_queued_emails()

    assert sent == [True, False, False, True]
    assert len(mailoutbox) == 2


def test_a_pending_signatures_status_email_carries_the_confirmation_link(
    open_letter, mailoutbox
):
    strangers_pending(open_letter, email="late@example.org")
    send_queued_emails()
    mailoutbox.clear()

    signature_status_send(letter=open_letter, email="late@example.org")
    send_queued_emails()

    (message,) = mailoutbox
    assert "waiting for this address to be confirmed" in message.body
    assert "/s/confirm/" in message.body
