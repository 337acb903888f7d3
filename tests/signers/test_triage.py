"""Change requests triaged by the organisers: accept, decline, reply."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from coalition.outbox.dispatcher import outbox_dispatch
from coalition.outbox.models import OutboxMessage
from letters.audit import Action, describe
from letters.models import AuditEvent, Membership
from signers.models import ChangeRequest, EmailKind, Prospect
from signers.selectors.triage import anchored_part, change_request_triage
from signers.services.personal_data import signature_erase_personal_data
from signers.services.responses import change_request_create, prospect_decline
from signers.services.triage import (
    change_request_accept,
    change_request_decline,
    change_request_reply,
)
from tests.factories import (
    ProspectFactory,
    RevisionFactory,
    SignatureFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

Status = ChangeRequest.Status
HOSTILE = '<script>alert("x")</script>'


@pytest.fixture
def request_on_point(letter):
    signature = SignatureFactory(
        letter=letter, display_name="Friends of the Park", contact_name="Rosa"
    )
    return change_request_create(
        revision=letter.current_revision,
        anchor="point-2",
        text="Name a date for the school year.",
        signature=signature,
    )


def second_revision(letter):
    return RevisionFactory(letter=letter, number=2)


def audit_actions(letter):
    return list(
        AuditEvent.objects.filter(letter=letter).values_list("action", flat=True)
    )


# --- Services -----------------------------------------------------------------


def test_the_point_is_shown_by_its_text_not_its_anchor(letter, request_on_point):
    (row,) = change_request_triage(letter=letter)

    assert (row.part, row.part_text) == ("Point 2", "Act before the next school year.")
    assert row.name == "Friends of the Park"
    assert row.person == "Rosa"
    assert row.signature.status == "confirmed"
    assert anchored_part(letter.current_revision, "general")[1] == ""
    assert anchored_part(letter.current_revision, "point-9") == ("Point 9", "")


def test_accepting_records_the_revision_and_writes_the_log(
    letter, organiser, request_on_point
):
    second_revision(letter)

    change_request_accept(
        letter=letter, pk=request_on_point.pk, actor=organiser, revision_number=2
    )

    request_on_point.refresh_from_db()
    assert request_on_point.status == Status.ACCEPTED
    assert request_on_point.accepted_revision.number == 2
    assert request_on_point.resolved_by == organiser
    event = AuditEvent.objects.get(action=Action.CHANGE_REQUEST_ACCEPTED)
    assert describe(event) == (
        "Accepted the change Friends of the Park asked for, in revision 2"
    )


def test_a_request_is_accepted_only_in_a_later_revision_of_its_letter(
    letter, organiser, request_on_point
):
    with pytest.raises(ValidationError):
        change_request_accept(
            letter=letter, pk=request_on_point.pk, actor=organiser, revision_number=1
        )
    with pytest.raises(ValidationError):
        change_request_accept(
            letter=letter, pk=request_on_point.pk, actor=organiser, revision_number=7
        )

    request_on_point.refresh_from_db()
    assert request_on_point.status == Status.OPEN
    assert audit_actions(letter) == []


def test_declining_keeps_the_reason_and_a_decided_request_stays_decided(
    letter, organiser, request_on_point
):
    second_revision(letter)
    change_request_decline(
        letter=letter, pk=request_on_point.pk, actor=organiser, reason=" Too late. "
    )

    request_on_point.refresh_from_db()
    assert (request_on_point.status, request_on_point.decline_reason) == (
        Status.DECLINED,
        "Too late.",
    )
    with pytest.raises(ValidationError):
        change_request_accept(
            letter=letter, pk=request_on_point.pk, actor=organiser, revision_number=2
        )
    with pytest.raises(ValidationError):
        change_request_decline(letter=letter, pk=request_on_point.pk, actor=organiser)
    assert audit_actions(letter) == [Action.CHANGE_REQUEST_DECLINED]


def test_a_reply_is_kept_and_emailed_to_the_signer_with_its_text(
    letter, organiser, request_on_point
):
    row = change_request_reply(
        letter=letter,
        pk=request_on_point.pk,
        actor=organiser,
        text="We will name a date in revision 2.",
    )

    request_on_point.refresh_from_db()
    assert request_on_point.status == Status.ANSWERED
    assert request_on_point.reply == "We will name a date in revision 2."
    assert row.kind == EmailKind.CHANGE_REQUEST_REPLY
    assert row.to == request_on_point.signature.email
    outbox_dispatch()
    (message,) = mail.outbox
    assert message.to == [request_on_point.signature.email]
    assert "We will name a date in revision 2." in message.body
    assert "Act before the next school year." in message.body
    assert "Name a date for the school year." in message.body
    assert message.reply_to == [organiser.email]
    assert audit_actions(letter) == [Action.CHANGE_REQUEST_ANSWERED]


def test_a_request_is_answered_once_and_an_answered_one_can_still_be_decided(
    letter, organiser, request_on_point
):
    change_request_reply(
        letter=letter, pk=request_on_point.pk, actor=organiser, text="Thank you."
    )
    with pytest.raises(ValidationError):
        change_request_reply(
            letter=letter, pk=request_on_point.pk, actor=organiser, text="Again."
        )
    change_request_decline(letter=letter, pk=request_on_point.pk, actor=organiser)

    request_on_point.refresh_from_db()
    assert request_on_point.status == Status.DECLINED
    assert request_on_point.reply == "Thank you."
    assert (
        OutboxMessage.objects.filter(kind=EmailKind.CHANGE_REQUEST_REPLY).count() == 1
    )


def test_a_reply_to_a_prospect_who_declined_goes_to_the_prospects_address(
    letter, organiser
):
    prospect = ProspectFactory(letter=letter, status=Prospect.Status.INVITED)
    prospect_decline(
        prospect_id=prospect.pk, reason="No", anchor="point-1", change="Add rivers"
    )
    request = ChangeRequest.objects.get()

    row = change_request_reply(
        letter=letter, pk=request.pk, actor=organiser, text="Rivers are in point 1."
    )

    assert row.to == prospect.email
    (row,) = change_request_triage(letter=letter)
    assert row.signature is None
    assert row.name == prospect.organisation


def test_another_letters_request_is_not_found(letter, organiser, request_on_point):
    other = RevisionFactory(number=1).letter

    with pytest.raises(ChangeRequest.DoesNotExist):
        change_request_decline(letter=other, pk=request_on_point.pk, actor=organiser)


# --- Views ------------------------------------------------------------------------


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def member(letter, role):
    user = UserFactory()
    Membership.objects.create(letter=letter, user=user, role=role)
    return user


def urls(letter, request):
    args = [letter.slug, request.pk]
    return {
        "list": reverse("signers:change-requests", args=[letter.slug]),
        "detail": reverse("signers:change-request", args=args),
        "accept": reverse("signers:change-request-accept", args=args),
        "decline": reverse("signers:change-request-decline", args=args),
        "reply": reverse("signers:change-request-reply", args=args),
    }


def state():
    return list(
        ChangeRequest.objects.values_list("status", "reply", "decline_reason")
    ), OutboxMessage.objects.count()


def test_the_page_lists_the_point_and_filters_by_status(letter, request_on_point):
    client = logged_in(member(letter, Membership.Role.VIEWER))
    page = client.get(urls(letter, request_on_point)["list"]).content.decode()

    assert "Act before the next school year." in page
    assert "point-2" not in page
    assert "Friends of the Park" in page
    assert 'data-label="Status"' in page
    declined = client.get(urls(letter, request_on_point)["list"] + "?status=declined")
    assert "Name a date for the school year." not in declined.content.decode()


def test_an_editor_accepts_declines_and_replies_by_post(
    letter, organiser, request_on_point
):
    second_revision(letter)
    client = logged_in(member(letter, Membership.Role.EDITOR))
    u = urls(letter, request_on_point)

    client.post(u["reply"], {"text": "Thanks, we are on it."})
    response = client.post(u["accept"], {"revision_number": "2"})

    assert response.status_code == 302
    request_on_point.refresh_from_db()
    assert request_on_point.status == Status.ACCEPTED
    page = client.get(u["detail"]).content.decode()
    assert "Accepted in revision 2" in page
    assert reverse("letters:revision", args=[letter.slug, 2]) in page
    assert "Thanks, we are on it." in page


def test_viewers_cannot_post_and_get_changes_nothing(letter, request_on_point):
    second_revision(letter)
    viewer = logged_in(member(letter, Membership.Role.VIEWER))
    u = urls(letter, request_on_point)
    before = state()

    assert viewer.get(u["detail"]).status_code == 200
    assert 'name="text"' not in viewer.get(u["detail"]).content.decode()
    for name, data in (
        ("accept", {"revision_number": "2"}),
        ("decline", {"reason": "no"}),
        ("reply", {"text": "hello"}),
    ):
        assert viewer.post(u[name], data).status_code == 403
    owner = logged_in(letter.memberships.get(role="owner").user)
    for name in u:
        owner.get(u[name])

    assert state() == before


def test_strangers_get_not_found(letter, request_on_point):
    stranger = logged_in(UserFactory())
    u = urls(letter, request_on_point)

    for url in u.values():
        assert stranger.get(url).status_code in (404, 405)
    assert stranger.post(u["reply"], {"text": "hi"}).status_code == 404
    assert state()[0][0][0] == Status.OPEN


def test_a_strangers_words_stay_text_on_the_page(letter):
    signature = SignatureFactory(letter=letter, display_name=f"Org {HOSTILE}")
    change_request_create(
        revision=letter.current_revision,
        anchor="general",
        text=f"Change {HOSTILE}",
        signature=signature,
    )
    client = logged_in(letter.memberships.get(role="owner").user)

    page = client.get(reverse("signers:change-requests", args=[letter.slug]))

    assert HOSTILE not in page.content.decode()
    assert "&lt;script&gt;" in page.content.decode()


# --- Decline reasons ---------------------------------------------------------


def test_decline_reasons_show_on_the_outreach_page_and_the_prospect(letter):
    prospect = ProspectFactory(letter=letter, status=Prospect.Status.INVITED)
    reason = "Not our priority this year. " * 5 + HOSTILE
    prospect_decline(prospect_id=prospect.pk, reason=reason)
    client = logged_in(letter.memberships.get(role="owner").user)

    outreach = client.get(reverse("signers:outreach", args=[letter.slug]))
    edit = client.get(reverse("signers:prospect-edit", args=[letter.slug, prospect.pk]))

    for page in (outreach.content.decode(), edit.content.decode()):
        assert "Not our priority this year." in page
        assert HOSTILE not in page
    assert "<details" in outreach.content.decode()


def test_nobody_is_written_to_after_their_data_was_erased(
    letter, organiser, request_on_point
):
    signature_erase_personal_data(signature=request_on_point.signature, actor=organiser)

    with pytest.raises(ValidationError):
        change_request_reply(
            letter=letter, pk=request_on_point.pk, actor=organiser, text="Hello"
        )

    assert not OutboxMessage.objects.filter(kind=EmailKind.CHANGE_REQUEST_REPLY)


def test_a_refused_answer_shows_the_page_again_with_the_error(letter, request_on_point):
    client = logged_in(member(letter, Membership.Role.EDITOR))

    response = client.post(urls(letter, request_on_point)["accept"], {})

    assert response.status_code == 400
    assert "Publish a revision with the change first" in response.content.decode()
    request_on_point.refresh_from_db()
    assert request_on_point.status == Status.OPEN
