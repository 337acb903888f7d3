import re
from datetime import timedelta

import pytest
import time_machine
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from coalition.tokens import make_token
from letters.audit import describe
from letters.models import AuditEvent, Letter, Membership, Revision
from signers.models import (
    Call,
    CallInvitation,
    ChangeRequest,
    EmailKind,
    Prospect,
    Reissue,
    ReissueOptIn,
    Signature,
)
from signers.services.responses import change_request_create, referral_create
from signers.services.signatures import (
    signature_confirm,
    signature_reject,
    signature_update_public_details,
    signature_withdraw,
    signatures_on_new_revision,
)
from tests.factories import ProspectFactory, RevisionFactory, UserFactory
from tests.signers.conftest import make_letter
from tests.signers.helpers import send_queued_emails, sign, sign_form, signature_emails

pytestmark = pytest.mark.django_db

Status = Signature.Status


def link(name, purpose, pk):
    return reverse(f"signers:{name}", args=[make_token(purpose, pk)])


def snapshot():
    """Everything an emailed link could change."""
    return (
        list(Signature.objects.order_by("pk").values_list("pk", "status", "revision")),
        list(Prospect.objects.order_by("pk").values_list("pk", "status")),
        signature_emails().count(),
        ChangeRequest.objects.count(),
    )


# --- Invitation ---------------------------------------------------------------


def test_invitation_page_shows_the_text_and_a_prefilled_form_and_signs_nothing(
    client, letter, prospect
):
    response = client.get(link("invitation", "invite", prospect.pk))

    page = response.content.decode()
    assert response.status_code == 200
    assert letter.current_revision.sha256 in page
    assert "Clean air is a right." in page
    assert f'value="{prospect.email}"' in page
    assert 'value="Friends of the Park"' in page
    assert not Signature.objects.exists()
    prospect.refresh_from_db()
    assert prospect.status == Prospect.Status.IDENTIFIED  # a GET is not a person


def test_invitee_signs_and_lands_on_the_thank_you_page(client, letter, prospect):
    response = client.post(
        link("invitation", "invite", prospect.pk),
        sign_form(letter, email=prospect.email),
    )

    signature = Signature.objects.get()
    assert signature.status == Status.CONFIRMED
    assert signature.prospect == prospect
    assert response.status_code == 302
    thanks = client.get(response.url)
    assert "has signed" in thanks.content.decode()
    assert "Who else should sign?" in thanks.content.decode()
    assert signature_emails().get().kind == EmailKind.RECEIPT


def test_used_invitation_says_it_is_already_done(client, letter, prospect):
    url = link("invitation", "invite", prospect.pk)
    client.post(url, sign_form(letter, email=prospect.email))

    again = client.post(url, sign_form(letter, email=prospect.email))

    assert "already done" in again.content.decode()
    assert Signature.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"attested": None}, "authorised to sign on behalf"),
        ({"email": "not-an-email"}, "Enter a valid email address."),
        ({"display_name": "N" * 10_000}, "at most 200 characters"),
        ({"display_name": "\x07\u202e\r\n"}, "This field is required."),
        ({"display_name": ""}, "This field is required."),
        ({"leave_empty": "http://spam.example"}, "stop robots"),
    ],
)
def test_bad_input_gets_a_clear_message_keeps_what_was_typed_and_saves_nothing(
    client, letter, prospect, overrides, message
):
    data = sign_form(letter, **overrides)

    response = client.post(link("invitation", "invite", prospect.pk), data)

    page = response.content.decode()
    assert response.status_code == 200
    assert message in page
    assert 'value="Rosa Parks"' in page  # what was typed is still there
    assert not Signature.objects.exists()


def test_control_characters_typed_in_a_signature_are_taken_out_before_saving(
    client, letter, prospect
):
    data = sign_form(
        letter,
        display_name="Evil\x07 Corp\r\nBcc: victim@example.org",
        city="Spring\u202efield",
        comment="First line\r\nSecond line\x1b[31m",
    )

    response = client.post(link("invitation", "invite", prospect.pk), data)

    assert response.status_code == 302
    signature = Signature.objects.get()
    assert signature.display_name == "Evil Corp Bcc: victim@example.org"
    assert signature.city == "Springfield"
    assert signature.comment == "First line\nSecond line[31m"


def test_a_duplicate_organisation_is_told_kindly_and_loses_nothing(
    client, letter, prospect
):
    sign(letter, display_name="The Friends of the Park", email="first@example.org")

    response = client.post(
        link("invitation", "invite", prospect.pk),
        sign_form(letter, email=prospect.email, comment="Proud to sign"),
    )

    page = response.content.decode()
    assert "has already signed this letter" in page
    assert "Proud to sign" in page
    assert Signature.objects.count() == 1


def test_a_text_changed_while_reading_asks_to_read_the_new_version(
    client, letter, prospect
):
    data = sign_form(letter, email=prospect.email)
    new = RevisionFactory(letter=letter, number=2, body="A new body.")
    letter.current_revision = new
    letter.save()

    response = client.post(link("invitation", "invite", prospect.pk), data)

    page = response.content.decode()
    assert "text has changed" in page
    assert "A new body." in page
    assert f'name="revision" value="{new.pk}"' in page
    assert not Signature.objects.exists()


def test_emails_are_lower_cased_and_names_trimmed(client, letter, prospect):
    client.post(
        link("invitation", "invite", prospect.pk),
        sign_form(
            letter, email=prospect.email.upper(), display_name="  Friends   of Parks "
        ),
    )
    signature = Signature.objects.get()
    assert signature.email == prospect.email
    assert signature.display_name == "Friends of Parks"


def test_invitation_after_the_hard_deadline_says_signing_has_closed(
    client, letter, prospect
):
    letter.hard_deadline = timezone.now() + timedelta(hours=1)
    letter.save()
    with time_machine.travel(letter.hard_deadline + timedelta(seconds=1)):
        response = client.get(link("invitation", "invite", prospect.pk))
        client.post(
            link("invitation", "invite", prospect.pk),
            sign_form(letter, email=prospect.email),
        )
    assert "Signing closed on" in response.content.decode()
    assert not Signature.objects.exists()


def test_decline_records_the_answer_and_a_change_request(client, letter, prospect):
    url = link("decline", "decline", prospect.pk)
    assert "would make you sign" in client.get(url).content.decode()

    response = client.post(
        url, {"reason": "Too vague", "anchor": "point-1", "change": "Name a date"}
    )

    assert "We have told the organisers" in response.content.decode()
    prospect.refresh_from_db()
    assert prospect.status == Prospect.Status.DECLINED
    assert ChangeRequest.objects.get().text == "Name a date"


# --- Links: GET acts on nothing; bad links get a clear page -------------------


@pytest.mark.parametrize(
    ("name", "purpose"),
    [
        ("confirm", "confirm"),
        ("withdraw", "withdraw"),
        ("reconfirm", "reconfirm"),
        ("edit", "edit"),
        ("suggest", "edit"),
        ("thanks", "refer"),
    ],
)
def test_get_on_an_emailed_signature_link_changes_nothing(
    client, open_letter, name, purpose
):
    pending = sign(open_letter, source=Signature.Source.OPEN_JOIN)
    confirmed = sign(open_letter, display_name="Other", email="o@example.org")
    needs = sign(open_letter, display_name="Third", email="t@example.org")
    Signature.objects.filter(pk=needs.pk).update(status=Status.NEEDS_RECONFIRMATION)
    before = snapshot()

    for signature in (pending, confirmed, needs):
        response = client.get(link(name, purpose, signature.pk))
        assert response.status_code == 200
        assert response.headers["Cache-Control"].startswith("max-age=0")

    assert snapshot() == before


def test_get_on_invitation_and_decline_links_changes_nothing(client, prospect):
    # Mail scanners fetch every link in a message before (or without) anyone
    # reading it: a GET is not an invitee opening the invitation.
    prospect.status = Prospect.Status.INVITED
    prospect.save()
    before = Prospect.objects.values().get()

    client.get(link("invitation", "invite", prospect.pk))
    client.get(link("decline", "decline", prospect.pk))
    client.get(link("invitation-opened", "invite", prospect.pk))

    assert not Signature.objects.exists()
    assert Prospect.objects.values().get() == before


def test_the_page_reports_a_persons_touch_with_a_post_that_needs_csrf(prospect):
    client = Client(enforce_csrf_checks=True)
    # The token carries its time to the second: the page's link and this one
    # are made within one frozen second.
    with time_machine.travel(timezone.now(), tick=False):
        page = client.get(link("invitation", "invite", prospect.pk))
        opened = link("invitation-opened", "invite", prospect.pk)
    assert f'data-opened-url="{opened}"' in page.content.decode()
    assert "js/invitation.js" in page.content.decode()

    forged = client.post(opened)
    prospect.refresh_from_db()
    assert forged.status_code == 403 and prospect.opened_at is None

    token = page.context["csrf_token"]
    response = client.post(opened, headers={"X-CSRFToken": str(token)})

    assert response.status_code == 204
    prospect.refresh_from_db()
    assert prospect.status == Prospect.Status.OPENED
    assert prospect.opened_at is not None


def test_signing_or_declining_from_the_page_counts_as_opened(client, letter):
    signer, other, decliner = ProspectFactory.create_batch(3, letter=letter)
    invitation = link("invitation", "invite", signer.pk)

    client.post(invitation, sign_form(letter, email=""))  # an error: nothing saved
    assert Prospect.objects.get(pk=signer.pk).opened_at is None
    client.post(invitation, sign_form(letter, email=signer.email))
    client.post(  # from another address: to confirm by email
        link("invitation", "invite", other.pk),
        sign_form(letter, display_name="Other Org", email="other@example.org"),
    )
    client.post(link("decline", "decline", decliner.pk), {"reason": "Not now"})

    statuses = [
        Prospect.objects.values_list("status", "opened_at").get(pk=p.pk)
        for p in (signer, other, decliner)
    ]
    assert [s for s, _at in statuses] == ["signed", "opened", "declined"]
    assert all(at is not None for _s, at in statuses)


@pytest.mark.parametrize(
    ("name", "purpose"),
    [
        ("invitation", "invite"),
        ("decline", "decline"),
        ("confirm", "confirm"),
        ("withdraw", "withdraw"),
        ("reconfirm", "reconfirm"),
        ("edit", "edit"),
    ],
)
def test_tampered_link_gets_a_clear_page(client, name, purpose):
    token = make_token(purpose, 1)
    tampered = token[:-3] + ("abc" if token[-3:] != "abc" else "xyz")

    response = client.get(reverse(f"signers:{name}", args=[tampered]))

    assert response.status_code == 400
    assert "This link does not work" in response.content.decode()


def test_a_link_for_another_purpose_is_refused(client, letter):
    signature = sign(letter)

    response = client.post(link("withdraw", "edit", signature.pk))

    assert response.status_code == 400
    signature.refresh_from_db()
    assert signature.status == Status.CONFIRMED


def test_expired_confirmation_link_gets_a_clear_page_and_confirms_nothing(
    client, open_letter
):
    signature = sign(open_letter, source=Signature.Source.OPEN_JOIN)
    url = link("confirm", "confirm", signature.pk)

    with time_machine.travel(timezone.now() + timedelta(days=8)):
        response = client.post(url, {"revision": open_letter.current_revision_id})

    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()
    signature.refresh_from_db()
    assert signature.status == Status.PENDING


def test_reused_withdraw_link_says_it_is_already_done(client, letter):
    signature = sign(letter)
    url = link("withdraw", "withdraw", signature.pk)

    first = client.post(url, follow=True)
    second = client.post(url)

    assert "Your signature has been withdrawn." in first.content.decode()
    assert "has been withdrawn" in second.content.decode()
    assert signature_emails().filter(kind="withdrawn").count() == 1


# --- Open join ----------------------------------------------------------------


def test_open_join_then_confirm_by_the_emailed_link(client, open_letter):
    url = reverse("signers:join", args=[open_letter.slug])

    response = client.post(url, sign_form(open_letter))
    assert response.status_code == 302
    assert "Check your email" in client.get(response.url).content.decode()
    signature = Signature.objects.get()
    assert signature.status == Status.PENDING

    confirm = link("confirm", "confirm", signature.pk)
    page = client.get(confirm).content.decode()
    assert "Confirm our signature" in page
    response = client.post(confirm, {"revision": open_letter.current_revision_id})

    assert response.status_code == 302
    signature.refresh_from_db()
    assert signature.status == Status.CONFIRMED
    again = client.post(confirm, {"revision": open_letter.current_revision_id})
    assert "already done" in again.content.decode()


def test_open_join_rate_limit_per_email_has_a_clear_message(
    client, open_letter, settings
):
    settings.SIGNERS_JOIN_LIMIT_PER_EMAIL = 2
    url = reverse("signers:join", args=[open_letter.slug])
    for n in range(2):
        client.post(url, sign_form(open_letter, display_name=f"Org {n}"))

    response = client.post(url, sign_form(open_letter, display_name="Org 3"))

    assert response.status_code == 429
    assert "too many signatures" in response.content.decode()
    assert 'value="Org 3"' in response.content.decode()
    assert not Signature.objects.filter(display_name="Org 3").exists()


def test_open_join_rate_limit_per_address_counts_every_email(
    client, open_letter, settings
):
    settings.SIGNERS_JOIN_LIMIT_PER_IP = 3
    url = reverse("signers:join", args=[open_letter.slug])
    statuses = [
        client.post(
            url,
            sign_form(open_letter, display_name=f"Org {n}", email=f"{n}@example.org"),
            REMOTE_ADDR="203.0.113.9",
        ).status_code
        for n in range(4)
    ]
    other = client.post(
        url,
        sign_form(open_letter, display_name="Elsewhere", email="e@example.org"),
        REMOTE_ADDR="198.51.100.1",
    )

    assert statuses == [302, 302, 302, 429]
    assert other.status_code == 302


PROXY = "10.0.0.2"


def join_from(client, letter, n, **meta):
    return client.post(
        reverse("signers:join", args=[letter.slug]),
        sign_form(letter, display_name=f"Org {n}", email=f"{n}@example.org"),
        **meta,
    ).status_code


def test_visitors_behind_one_proxy_each_get_their_own_open_join_allowance(
    client, open_letter, settings
):
    settings.SIGNERS_JOIN_LIMIT_PER_IP = 2
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1

    first = [
        join_from(
            client,
            open_letter,
            n,
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR="203.0.113.9",
        )
        for n in range(3)
    ]
    second = join_from(
        client, open_letter, 9, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.1"
    )

    assert first == [302, 302, 429]
    assert second == 302


def test_forwarded_addresses_a_visitor_makes_up_do_not_reset_the_allowance(
    client, open_letter, settings
):
    settings.SIGNERS_JOIN_LIMIT_PER_IP = 2
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1

    # The proxy appends the address it saw; what the visitor wrote before it
    # changes on every request.
    statuses = [
        join_from(
            client,
            open_letter,
            n,
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.9",
        )
        for n in range(3)
    ]

    assert statuses == [302, 302, 429]


def test_without_trusted_proxies_a_spoofed_header_does_not_change_the_key(
    client, open_letter, settings
):
    settings.SIGNERS_JOIN_LIMIT_PER_IP = 2
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0

    statuses = [
        join_from(
            client,
            open_letter,
            n,
            REMOTE_ADDR="203.0.113.9",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
        )
        for n in range(3)
    ]

    assert statuses == [302, 302, 429]


def test_join_form_is_not_found_for_letters_that_are_not_public(client, letter):
    response = client.get(reverse("signers:join", args=[letter.slug]))
    assert response.status_code == 404


def test_join_form_of_a_published_letter_that_is_not_open_says_so(client, letter):
    letter.status = Letter.Status.PUBLISHED
    letter.save()
    response = client.get(reverse("signers:join", args=[letter.slug]))
    assert "does not take signatures" in response.content.decode()


# --- Receipt links: edit, reconfirm, referral ---------------------------------


def test_signer_corrects_details_from_the_receipt_link(client, letter):
    signature = sign(letter)
    url = link("edit", "edit", signature.pk)

    response = client.post(
        url,
        {
            "display_name": "Friends of Springfield Park",
            "city": "Shelbyville",
            "country": "United Kingdom",
            "consent_listed": "on",
        },
        follow=True,
    )

    signature.refresh_from_db()
    assert signature.city == "Shelbyville"
    assert signature.requested_display_name == "Friends of Springfield Park"
    assert "once the organisers have checked it" in response.content.decode()


def test_reconfirm_page_shows_the_diff_and_the_post_reconfirms(client, letter):
    signature = sign(letter)
    new = RevisionFactory(
        letter=letter, number=2, kind=Revision.Kind.MATERIAL, body="A bolder ask."
    )
    letter.current_revision = new
    letter.last_material_revision_number = 2
    letter.save()
    signatures_on_new_revision(revision=new)
    url = link("reconfirm", "reconfirm", signature.pk)

    page = client.get(url).content.decode()
    assert "<ins>" in page and "bolder" in page
    client.post(url, {"revision": new.pk})

    signature.refresh_from_db()
    assert signature.status == Status.CONFIRMED
    assert signature.revision == new


def test_thank_you_page_turns_suggestions_into_prospects(client, letter):
    signature = sign(letter)
    url = link("thanks", "refer", signature.pk)

    response = client.post(
        url,
        {
            "organisation": "Parents for Clean Air",
            "contact_name": "Sam",
            "email": "sam@parents.example.org",
            "note": "Ran the petition",
        },
        follow=True,
    )

    prospect = Prospect.objects.get(email="sam@parents.example.org")
    assert prospect.referred_by == signature
    assert "pass Parents for Clean Air on" in response.content.decode()


def test_signer_leaves_a_change_request_anchored_to_a_paragraph(client, letter):
    signature = sign(letter)
    client.post(
        link("suggest", "edit", signature.pk),
        {"anchor": "paragraph-1", "text": "Mention buses."},
    )
    request = ChangeRequest.objects.get()
    assert (request.signature, request.anchor) == (signature, "paragraph-1")


# --- Links of a signature that is off the letter -----------------------------


def everything():
    """Every row a signer's link could write."""
    models = [*apps.get_app_config("signers").get_models(), AuditEvent]
    return {m.__name__: list(m.objects.order_by("pk").values()) for m in models}


def take_off(signature, how):
    if how == "withdrawn":
        signature_withdraw(signature_id=signature.pk)
    else:
        owner = signature.letter.memberships.get().user
        signature_reject(signature=signature, actor=owner, reason="Spam")
    signature.refresh_from_db()


# The link, its token's purpose and row, and what its form posts.
OFF_LETTER_LINKS = [
    ("edit", "edit", "signature", {"display_name": "New Name", "city": "York"}),
    ("suggest", "edit", "signature", {"anchor": "general", "text": "Change it"}),
    ("thanks", "refer", "signature", {"organisation": "B", "email": "b@b.org"}),
    ("confirm", "confirm", "signature", {"revision": "REVISION"}),
    ("reconfirm", "reconfirm", "signature", {"revision": "REVISION"}),
    ("withdraw", "withdraw", "signature", {}),
    ("call-rsvp", "rsvp", "call_invitation", {"response": "yes"}),
    ("reissue-opt-in", "reissue", "opt_in", {}),
]


@pytest.mark.parametrize("how", ["withdrawn", "rejected"])
@pytest.mark.parametrize(("name", "purpose", "row", "data"), OFF_LETTER_LINKS)
def test_every_link_of_a_signature_off_the_letter_shows_its_status_and_saves_nothing(
    client, letter, how, name, purpose, row, data
):
    signature = sign(letter)
    call = Call.objects.create(
        letter=letter,
        title="Coalition call",
        starts_at=timezone.now() + timedelta(days=2),
        join_url="https://meet.example.org/x",
    )
    rows = {
        "signature": signature,
        "call_invitation": CallInvitation.objects.create(
            call=call, email=signature.email, signature=signature
        ),
        # A re-issue that takes signatures, so that an opt-in would sign it.
        "opt_in": ReissueOptIn.objects.create(
            reissue=Reissue.objects.create(source=letter, letter=make_letter()),
            earlier=signature,
        ),
    }
    take_off(signature, how)
    url = link(name, purpose, rows[row].pk)
    posted = {
        k: letter.current_revision_id if v == "REVISION" else v for k, v in data.items()
    }
    before = everything()

    answers = [client.get(url), client.post(url, posted, follow=True)]

    status = "has been withdrawn" if how == "withdrawn" else "did not accept"
    for response in answers:
        assert response.status_code == 200
        assert status in response.content.decode()
    assert everything() == before


def test_a_signer_off_the_letter_still_downloads_their_data(client, letter):
    signature = sign(letter)
    take_off(signature, "withdrawn")
    before = everything()

    response = client.post(link("my-data", "edit", signature.pk))

    assert response.status_code == 200
    assert response.json()["signature"]["status"] == "withdrawn"
    after = everything()
    assert after.pop("AuditEvent")[-1]["action"] == "signature.exported"
    before.pop("AuditEvent")
    assert after == before


@pytest.mark.parametrize(
    "write",
    [
        lambda s: referral_create(signature=s, organisation="B", email="b@b.org"),
        lambda s: change_request_create(
            revision=s.revision, anchor="general", text="x", signature=s
        ),
        lambda s: signature_update_public_details(
            signature_id=s.pk, display_name="New"
        ),
    ],
)
def test_the_services_refuse_writes_from_a_signature_off_the_letter(letter, write):
    signature = sign(letter)
    take_off(signature, "rejected")
    before = everything()

    with pytest.raises(ValidationError) as exc:
        write(signature)

    assert exc.value.code == "not_live"
    assert everything() == before


# --- Organisers ---------------------------------------------------------------


def organiser_urls(letter, signature):
    return [
        reverse("signers:letter-signatures", args=[letter.slug]),
        reverse("signers:signature-detail", args=[letter.slug, signature.pk]),
        reverse("signers:signature-import", args=[letter.slug]),
    ]


def test_strangers_get_404_on_every_organiser_url(client, letter):
    signature = sign(letter)
    client.force_login(UserFactory())

    for url in organiser_urls(letter, signature):
        assert client.get(url).status_code == 404
    act = reverse("signers:signature-act", args=[letter.slug, signature.pk, "erase"])
    assert client.post(act, {"confirm": "on"}).status_code == 404
    signature.refresh_from_db()
    assert signature.erased_at is None


def test_viewers_see_signatures_but_cannot_act(client, letter):
    signature = sign(letter)
    viewer = UserFactory()
    Membership.objects.create(letter=letter, user=viewer, role=Membership.Role.VIEWER)
    client.force_login(viewer)

    assert client.get(organiser_urls(letter, signature)[0]).status_code == 200
    act = reverse("signers:signature-act", args=[letter.slug, signature.pk, "reject"])
    assert client.post(act, {"reason": "no"}).status_code == 403
    signature.refresh_from_db()
    assert signature.status == Status.CONFIRMED


def test_organiser_lists_and_filters_signatures_by_status_and_revision(
    client, letter, organiser
):
    sign(letter, display_name="Alpha Org", email="a@example.org")
    pending = sign(
        letter,
        display_name="Beta Org",
        email="b@example.org",
        prospect=None,
    )
    assert pending.status == Status.PENDING
    client.force_login(organiser)
    url = reverse("signers:letter-signatures", args=[letter.slug])

    everything = client.get(url).content.decode()
    only_pending = client.get(url, {"status": "pending"}).content.decode()
    other_revision = client.get(url, {"revision": "7"})

    assert "Alpha Org" in everything and "Beta Org" in everything
    assert "Beta Org" in only_pending and "Alpha Org" not in only_pending
    assert other_revision.status_code == 200
    assert "Revision 1" in everything


def test_organiser_rejects_with_a_reason_and_erases_personal_data(
    client, letter, organiser
):
    signature = sign(letter, phone="+44 1")
    client.force_login(organiser)
    act = lambda action: reverse(  # noqa: E731
        "signers:signature-act", args=[letter.slug, signature.pk, action]
    )

    missing = client.post(act("reject"), {"reason": ""})
    assert missing.status_code == 400
    client.post(act("reject"), {"reason": "Duplicate of another entry"})
    client.post(act("erase"), {"confirm": "on"})
    client.post(act("sort-name"), {"sort_name": "Park, Friends of the"})

    signature.refresh_from_db()
    assert signature.status == Status.REJECTED
    assert signature.rejection_reason == "Duplicate of another entry"
    assert signature.phone == "" and signature.erased_at is not None
    assert signature.sort_name == "park friends of the"


def test_organiser_approves_an_open_join_from_the_queue(client, open_letter, organiser):
    open_letter.join_requires_approval = True
    open_letter.save()
    signature = sign(open_letter, source=Signature.Source.OPEN_JOIN)
    signature_confirm(
        signature_id=signature.pk, revision_id=open_letter.current_revision_id
    )
    client.force_login(organiser)

    page = client.get(reverse("signers:letter-signatures", args=[open_letter.slug]))
    assert "Waiting for your approval" in page.content.decode()
    client.post(
        reverse(
            "signers:signature-act", args=[open_letter.slug, signature.pk, "approve"]
        )
    )

    signature.refresh_from_db()
    assert signature.status == Status.CONFIRMED


def test_organiser_import_page_reports_every_bad_line_and_imports_nothing(
    client, letter, organiser
):
    client.force_login(organiser)
    csv = (
        "organisation,city,country,website,contact_name,email\n"
        "Good Org,Leeds,UK,,Ann,ann@example.org\n"
        "Bad Org,Leeds,UK,,Bob,not-an-email\n"
    )
    url = reverse("signers:signature-import", args=[letter.slug])

    response = client.post(
        url, {"file": SimpleUploadedFile("s.csv", csv.encode("utf-8-sig"))}
    )

    page = response.content.decode()
    assert "Nothing can be imported until these are fixed" in page
    assert re.search(r"Line 3: email: Enter a valid email address", page)
    assert "payload" not in page
    assert not Signature.objects.exists()


def import_signers(client, letter, content: bytes):
    url = reverse("signers:signature-import", args=[letter.slug])
    return client.post(url, {"file": SimpleUploadedFile("s.csv", content)})


IMPORT_HEADER = b"organisation,city,country,website,contact_name,email\n"


@pytest.mark.parametrize(
    ("limit", "value", "message"),
    [
        ("IMPORT_MAX_BYTES", 1000, "The file is larger than 1000"),
        ("IMPORT_MAX_ROWS", 39, "The file has more than 39 rows"),
    ],
)
def test_organiser_import_past_a_limit_says_so_and_imports_nothing(
    client, letter, organiser, settings, limit, value, message
):
    setattr(settings, limit, value)
    client.force_login(organiser)
    rows = b"".join(
        b"Org %d,Leeds,UK,,Ann,o%d@example.org\n" % (n, n) for n in range(40)
    )

    response = import_signers(client, letter, IMPORT_HEADER + rows)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Signature.objects.exists()


@pytest.mark.parametrize("name", ["signature-import", "prospect-import"])
def test_an_import_far_over_the_limit_is_refused_before_its_body_is_read(
    client, letter, organiser, name
):
    client.force_login(organiser)

    # A 48 MB upload announced and never sent: reading any of it fails the test.
    response = client.generic(
        "POST",
        reverse(f"signers:{name}", args=[letter.slug]),
        CONTENT_TYPE="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(48 * 1024 * 1024),
    )

    assert response.status_code == 413
    assert "The file is larger than 2.0" in response.content.decode()
    assert not Signature.objects.exists()
    assert not Prospect.objects.exists()


def test_organiser_import_refuses_a_nul_character_with_its_line(
    client, letter, organiser
):
    client.force_login(organiser)
    rows = b"Good,Leeds,UK,,Ann,ann@example.org\nBad,Le\x00eds,UK,,Bo,bo@example.org\n"

    response = import_signers(client, letter, IMPORT_HEADER + rows)

    assert response.status_code == 200
    assert "Line 3 contains a NUL character" in response.content.decode()
    assert not Signature.objects.exists()


# --- Personal data ------------------------------------------------------------


def export_url(letter, signature):
    return reverse("signers:signature-export", args=[letter.slug, signature.pk])


def test_organiser_downloads_a_signers_personal_data_and_the_log_says_so(
    client, letter, organiser
):
    signature = sign(letter, phone="+44 20 7946 0000")
    client.force_login(organiser)

    detail = client.get(
        reverse("signers:signature-detail", args=[letter.slug, signature.pk])
    )
    response = client.post(export_url(letter, signature))

    assert export_url(letter, signature) in detail.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{letter.slug}-signature-{signature.pk}.json"'
    )
    assert "no-store" in response["Cache-Control"]
    data = response.json()
    assert data["signature"]["phone"] == "+44 20 7946 0000"
    assert data["revision_signed"]["sha256"] == letter.current_revision.sha256
    event = AuditEvent.objects.get(action="signature.exported")
    assert event.actor == organiser
    assert describe(event) == "Downloaded the personal data of Friends of the Park"
    assert [e["action"] for e in data["history"]] == ["signature.exported"]


def test_personal_data_is_not_given_to_viewers_strangers_or_by_get(client, letter):
    signature = sign(letter)
    viewer, stranger = UserFactory(), UserFactory()
    Membership.objects.create(letter=letter, user=viewer, role=Membership.Role.VIEWER)
    url = export_url(letter, signature)

    client.force_login(viewer)
    assert client.post(url).status_code == 403
    client.force_login(stranger)
    assert client.post(url).status_code == 404
    client.logout()
    assert client.post(url).status_code == 302  # to the login page
    assert not AuditEvent.objects.filter(action="signature.exported").exists()


def test_get_on_the_export_url_downloads_nothing(client, letter, organiser):
    signature = sign(letter)
    client.force_login(organiser)

    assert client.get(export_url(letter, signature)).status_code == 405
    assert not AuditEvent.objects.exists()


def test_signer_downloads_their_own_data_from_the_link_on_their_edit_page(
    client, letter
):
    signature = sign(letter, comment="Happy to help")
    my_data = link("my-data", "edit", signature.pk)

    edit_page = client.get(link("edit", "edit", signature.pk)).content.decode()
    page = client.get(my_data)
    assert not AuditEvent.objects.exists()  # opening the link writes nothing
    response = client.post(my_data)

    assert my_data in edit_page
    assert page.status_code == 200
    assert "Download my data" in page.content.decode()
    assert response["Content-Disposition"].startswith("attachment;")
    assert response.json()["signature"]["comment"] == "Happy to help"
    event = AuditEvent.objects.get(action="signature.exported")
    assert (event.actor, event.detail["by"]) == (None, "signer")
    assert "downloaded the data held about their signature" in describe(event)


def test_signer_still_gets_their_data_after_withdrawing(client, letter):
    signature = sign(letter)
    signature_withdraw(signature_id=signature.pk)

    page = client.get(link("my-data", "edit", signature.pk))
    response = client.post(link("my-data", "edit", signature.pk))

    assert link("edit", "edit", signature.pk) not in page.content.decode()
    assert response.json()["signature"]["status"] == Status.WITHDRAWN
    assert response.json()["signature"]["withdrawn_at"]


def test_a_broken_my_data_link_downloads_nothing(client, letter):
    signature = sign(letter)

    response = client.post(link("my-data", "withdraw", signature.pk))

    assert response.status_code == 400
    assert not AuditEvent.objects.exists()


# --- Disclosure: the join form says only that an address has signed ------------


def test_join_with_a_taken_address_says_only_that_it_has_signed(client, open_letter):
    sign(
        open_letter,
        display_name="Private Group",
        email="private@example.org",
        consent_listed=False,
    )
    url = reverse("signers:join", args=[open_letter.slug])

    response = client.post(
        url, sign_form(open_letter, display_name="Someone", email="private@example.org")
    )

    page = response.content.decode()
    assert "This email address has already signed this letter." in page
    assert "Private Group" not in page
    assert "Confirmed" not in page and "waiting" not in page
    status_url = reverse("signers:join-status", args=[open_letter.slug])
    assert f'action="{status_url}"' in page
    assert Signature.objects.count() == 1


def test_join_with_a_taken_name_does_not_show_the_signature_already_there(
    client, open_letter
):
    sign(
        open_letter,
        source=Signature.Source.OPEN_JOIN,
        display_name="Friends of the Park",
        email="first@example.org",
        consent_listed=False,
    )
    url = reverse("signers:join", args=[open_letter.slug])

    response = client.post(
        url, sign_form(open_letter, display_name="friends of the park")
    )

    page = response.content.decode()
    assert "friends of the park, or a name that looks the same" in page
    assert "Friends of the Park" not in page
    assert "look for our email" not in page  # another's pending state
    assert "join/status" not in page


def test_status_button_emails_the_taken_address_and_answers_alike_for_any(
    client, open_letter, mailoutbox
):
    sign(open_letter, display_name="Private Person", email="private@example.org")
    send_queued_emails()
    mailoutbox.clear()
    url = reverse("signers:join-status", args=[open_letter.slug])

    taken = client.post(url, {"email": "private@example.org"}, follow=True)
    free = client.post(url, {"email": "nobody@example.org"}, follow=True)
    send_queued_emails()

    assert taken.content == free.content
    assert "If this address has signed" in taken.content.decode()
    (message,) = mailoutbox
    assert message.to == ["private@example.org"]
    assert "Private Person has signed" in message.body


def test_a_get_of_the_status_url_sends_nothing(client, open_letter):
    sign(open_letter, email="private@example.org")
    url = reverse("signers:join-status", args=[open_letter.slug])

    response = client.get(url, {"email": "private@example.org"})

    assert response.status_code == 405
    assert not signature_emails().filter(kind=EmailKind.STATUS).exists()


def test_status_requests_are_rate_limited_like_the_join_form(
    client, open_letter, settings
):
    settings.SIGNERS_JOIN_LIMIT_PER_EMAIL = 1
    sign(open_letter, email="private@example.org")
    url = reverse("signers:join-status", args=[open_letter.slug])

    first = client.post(url, {"email": "private@example.org"})
    second = client.post(url, {"email": "private@example.org"})

    assert first.status_code == 302
    assert second.status_code == 429
    assert "too many" in second.content.decode()


# --- Squatting: what an unconfirmed signer's links say afterwards ---------------


def test_a_set_aside_signatures_confirm_link_says_so_and_confirms_nothing(
    client, open_letter
):
    squatter = sign(
        open_letter,
        source=Signature.Source.OPEN_JOIN,
        display_name="The X Trust",
        email="stranger@example.net",
    )
    sign(open_letter, display_name="X Trust", email="director@xtrust.example.org")
    confirm = link("confirm", "confirm", squatter.pk)

    page = client.get(confirm).content.decode()
    response = client.post(confirm, {"revision": open_letter.current_revision_id})

    assert "was set aside" in page
    assert "was set aside" in response.content.decode()
    assert Signature.objects.get(pk=squatter.pk).status == Status.SET_ASIDE


def test_an_expired_signatures_confirm_link_says_so_on_get_and_writes_nothing(
    client, open_letter, settings
):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        pending = sign(
            open_letter, source=Signature.Source.OPEN_JOIN, email="late@example.org"
        )
    later = start + timedelta(hours=settings.SIGNERS_PENDING_EXPIRY_HOURS, seconds=1)

    with time_machine.travel(later, tick=False):
        page = client.get(link("confirm", "confirm", pending.pk)).content.decode()

    assert "has expired" in page
    assert Signature.objects.get(pk=pending.pk).status == Status.PENDING
