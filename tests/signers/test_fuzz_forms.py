"""The public forms, fed anything at all: the answer is the saved row, whole,
or the form again with an error, and nothing saved. Never a server error.

Each property runs a fixed set of examples (``strategies.FUZZ``); every example
is rolled back, so each one meets the same letter, prospect and signature.
"""

from urllib.parse import quote

import pytest
from django.http import QueryDict
from django.urls import reverse
from hypothesis import event, given
from hypothesis import strategies as st

from coalition.tokens import make_token
from letters.models import AuditEvent, Letter
from signers.forms.signing import (
    DeclineForm,
    PublicDetailsForm,
    ReferralForm,
    SignatureForm,
)
from signers.models import ChangeRequest, Prospect, Signature, SignatureEmail
from tests.signers.helpers import sign, sign_form
from tests.signers.strategies import (
    FUZZ,
    URLENCODED,
    body_content_types,
    encode,
    form_posts,
    raw_bodies,
    rolled_back,
)

pytestmark = pytest.mark.django_db

SIGNATURE_FIELDS = [
    "kind", "display_name", "affiliation", "city", "country", "website",
    "contact_name", "contact_title", "email", "phone", "comment",
    "consent_listed", "consent_updates", "consent_logo", "attested", "revision",
    "leave_empty",
]  # fmt: skip
SAVED_AS_CLEANED = [
    "kind", "display_name", "affiliation", "city", "country", "website",
    "contact_name", "contact_title", "email", "phone", "comment",
    "consent_listed", "consent_updates",
]  # fmt: skip


def snapshot():
    """Every row a public form could write."""
    return [
        list(model.objects.order_by("pk").values())
        for model in (Signature, Prospect, ChangeRequest, SignatureEmail, AuditEvent)
    ]


def shows_an_error(response):
    """The form again, saying what is wrong (or, for an empty body, which no
    browser sends since the CSRF token is always there, the form as new)."""
    form = response.context["form"]
    return bool(form.errors) or not form.is_bound


def each_submission_saves_whole_or_nothing(
    client, url, posts, check_saved, *, saved=lambda r: r.status_code == 302
):
    """Post every example of ``posts``: when the answer says it saved,
    ``check_saved(submitted)`` checks what; otherwise the form is back with
    an error and nothing at all changed."""

    @FUZZ
    @given(posts)
    def submit(data):
        with rolled_back():
            before = snapshot()
            body = encode(data)
            response = client.post(url, body, content_type=URLENCODED)
            event(f"answered {response.status_code}")  # --hypothesis-show-statistics
            if saved(response):
                check_saved(QueryDict(body))
            else:
                assert response.status_code == 200
                assert shows_an_error(response)
                assert snapshot() == before

    submit()


def signing_data(letter, **overrides):
    return {
        k: str(v)
        for k, v in sign_form(letter, kind="organisation", **overrides).items()
    }


def assert_signature_saved_as_cleaned(letter, submitted, *, status, email_kind):
    form = SignatureForm(submitted, letter=letter)
    assert form.is_valid(), form.errors
    signature = Signature.objects.get(letter=letter, email=form.cleaned_data["email"])
    fields = form.signature_fields()
    for name in SAVED_AS_CLEANED:
        if name in fields:
            assert getattr(signature, name) == fields[name], name
    assert signature.status == status
    assert signature.revision_id == letter.current_revision_id
    assert list(signature.emails.values_list("kind", flat=True)) == [email_kind]
    return signature


@pytest.fixture
def both_kinds(letter):
    letter.signer_kinds = Letter.SignerKinds.BOTH
    letter.save()
    return letter


def test_open_join_saves_a_whole_pending_signature_or_shows_an_error(
    client, open_letter
):
    open_letter.signer_kinds = Letter.SignerKinds.BOTH
    open_letter.save()
    sign(open_letter, display_name="Already Signed", email="first@example.org")

    def check_saved(submitted):
        assert_signature_saved_as_cleaned(
            open_letter,
            submitted,
            status=Signature.Status.PENDING,
            email_kind=SignatureEmail.Kind.CONFIRM_REQUEST,
        )

    each_submission_saves_whole_or_nothing(
        client,
        reverse("signers:join", args=[open_letter.slug]),
        form_posts(signing_data(open_letter), SIGNATURE_FIELDS),
        check_saved,
    )


def test_invitation_saves_a_whole_signature_or_shows_an_error(
    client, both_kinds, prospect
):
    def check_saved(submitted):
        # Signed at the invited address: confirmed at once, else to confirm.
        proven = SignatureForm(submitted, letter=both_kinds).is_valid() and (
            Signature.objects.filter(email=prospect.email).exists()
        )
        assert_signature_saved_as_cleaned(
            both_kinds,
            submitted,
            status="confirmed" if proven else "pending",
            email_kind="receipt" if proven else "confirm_request",
        )
        prospect.refresh_from_db()
        assert (prospect.status == Prospect.Status.SIGNED) == proven

    each_submission_saves_whole_or_nothing(
        client,
        reverse("signers:invitation", args=[make_token("invite", prospect.pk)]),
        form_posts(signing_data(both_kinds, email=prospect.email), SIGNATURE_FIELDS),
        check_saved,
    )


def test_decline_records_the_answer_whole_or_shows_an_error(client, letter, prospect):
    valid = {"reason": "Not this year.", "anchor": "point-1", "change": "Say more."}

    def check_saved(submitted):
        form = DeclineForm(submitted, revision=letter.current_revision)
        assert form.is_valid(), form.errors
        prospect.refresh_from_db()
        assert prospect.status == Prospect.Status.DECLINED
        assert prospect.decline_reason == form.cleaned_data["reason"]
        change = form.cleaned_data["change"]
        requests = ChangeRequest.objects.filter(prospect=prospect)
        assert list(requests.values("anchor", "text")) == (
            [{"anchor": form.cleaned_data["anchor"] or "general", "text": change}]
            if change
            else []
        )

    each_submission_saves_whole_or_nothing(
        client,
        reverse("signers:decline", args=[make_token("decline", prospect.pk)]),
        form_posts(valid, ["reason", "anchor", "change"]),
        check_saved,
        saved=lambda response: response.context.get("done"),
    )


def test_self_service_edit_saves_every_detail_or_shows_an_error(client, letter):
    signature = sign(letter)
    valid = {
        "display_name": signature.display_name,
        "city": "Leeds",
        "country": "United Kingdom",
        "website": "https://friends.example.org",
        "consent_listed": "on",
    }

    def check_saved(submitted):
        form = PublicDetailsForm(submitted, signature=signature)
        assert form.is_valid(), form.errors
        saved = Signature.objects.get(pk=signature.pk)
        cleaned = dict(form.cleaned_data)
        name = cleaned.pop("display_name")
        for field, value in cleaned.items():
            assert getattr(saved, field) == value, field
        # A new name waits for the organisers.
        assert saved.display_name == signature.display_name
        assert saved.requested_display_name == (
            "" if name == signature.display_name else name
        )

    each_submission_saves_whole_or_nothing(
        client,
        reverse("signers:edit", args=[make_token("edit", signature.pk)]),
        form_posts(valid, [*valid, "consent_updates", "consent_logo", "affiliation"]),
        check_saved,
    )


def test_who_else_should_sign_saves_a_whole_prospect_or_shows_an_error(
    client, letter, prospect
):
    signature = sign(letter)
    valid = {
        "organisation": "Parents for Clean Air",
        "contact_name": "Sam",
        "email": "sam@parents.example.org",
        "note": "They ran the petition.",
    }

    def check_saved(submitted):
        form = ReferralForm(submitted)
        assert form.is_valid(), form.errors
        referral = Prospect.objects.get(referred_by=signature)
        assert referral.organisation == form.cleaned_data["organisation"]
        assert referral.email == form.cleaned_data["email"]
        assert referral.contact_name == form.cleaned_data["contact_name"]
        assert referral.notes == form.cleaned_data["note"]

    each_submission_saves_whole_or_nothing(
        client,
        reverse("signers:thanks", args=[make_token("refer", signature.pk)]),
        form_posts(valid, [*valid, "leave_empty"]),
        check_saved,
    )


# --- What no form produces ----------------------------------------------------


@pytest.fixture
def public_form_urls(open_letter):
    open_letter.signer_kinds = Letter.SignerKinds.BOTH
    open_letter.save()
    prospect = Prospect.objects.create(
        letter=open_letter, organisation="Invited", email="invited@example.org"
    )
    signature = sign(open_letter)
    return [
        reverse("signers:join", args=[open_letter.slug]),
        reverse("signers:invitation", args=[make_token("invite", prospect.pk)]),
        reverse("signers:decline", args=[make_token("decline", prospect.pk)]),
        reverse("signers:edit", args=[make_token("edit", signature.pk)]),
        reverse("signers:thanks", args=[make_token("refer", signature.pk)]),
    ]


def test_request_bodies_no_browser_sends_get_an_answer_not_a_crash(
    client, public_form_urls
):
    @FUZZ
    @given(st.sampled_from(public_form_urls), raw_bodies, body_content_types)
    def submit(url, body, content_type):
        with rolled_back():
            before = snapshot()
            response = client.generic("POST", url, body, content_type=content_type)
            # An empty decline is a decline, a name alone is an edit: both save.
            assert response.status_code in (200, 302, 400), response.status_code
            if response.status_code == 400:
                assert snapshot() == before

    submit()


TOKEN_LINKS = ["invitation", "decline", "edit", "thanks", "confirm", "withdraw"]


def test_any_token_in_a_link_gets_a_page_saying_the_link_is_broken(client):
    @FUZZ
    @given(st.sampled_from(TOKEN_LINKS), st.text(min_size=1, max_size=300))
    def visit(name, token):
        url = reverse(f"signers:{name}", args=["x"]).replace("/x/", "/%s/")
        response = client.get(url % quote(token, safe=""))
        assert response.status_code in (400, 404), response.status_code

    visit()
