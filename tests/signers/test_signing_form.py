"""The signing form a letter asks for: only the optional fields its organisers
chose, worded for the kind of signer, and deaf to fields it does not ask."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from letters.audit import describe
from letters.models import AuditEvent, Letter, Membership
from letters.services.letters import letter_update_settings
from letters.validators import clean_signing_fields
from signers.forms.signing import SignatureForm
from signers.models import Signature
from tests.factories import UserFactory
from tests.signers.helpers import sign_form

pytestmark = pytest.mark.django_db

ALWAYS = {"display_name", "email", "consent_listed", "consent_updates", "revision"}


def join(client, letter, **data):
    return client.post(reverse("signers:join", args=[letter.slug]), data)


def join_page(client, letter) -> str:
    return client.get(reverse("signers:join", args=[letter.slug])).content.decode()


def test_a_letter_asking_nothing_optional_shows_only_what_it_needs_and_signs(
    client, open_letter
):
    open_letter.signing_fields = {}
    open_letter.save()

    form = SignatureForm(letter=open_letter)
    page = join_page(client, open_letter)
    response = join(
        client,
        open_letter,
        display_name="Friends of the Park",
        email="rosa@friends.example.org",
        consent_listed="on",
        attested="on",
        revision=open_letter.current_revision_id,
    )

    assert set(form.fields) == ALWAYS | {"consent_logo", "attested", "leave_empty"}
    for absent in ('name="city"', 'name="phone"', 'name="comment"', 'name="website"'):
        assert absent not in page
    assert response.status_code == 302
    signature = Signature.objects.get()
    assert (signature.display_name, signature.city) == ("Friends of the Park", "")


def test_fields_a_letter_does_not_ask_are_not_taken_from_a_crafted_post(
    client, open_letter
):
    open_letter.signing_fields = {"city": "optional"}
    open_letter.save()

    join(
        client,
        open_letter,
        **sign_form(
            open_letter,
            city="Springfield",
            country="Freedonia",
            phone="+44 20 7946 0000",
            comment="<b>hello</b>",
            website="https://evil.example",
            contact_name="Mallory",
            contact_title="Boss",
        ),
    )

    signature = Signature.objects.get()
    assert signature.city == "Springfield"
    assert (signature.country, signature.phone, signature.comment) == ("", "", "")
    assert (signature.website, signature.contact_name) == ("", "")
    assert signature.contact_title == ""


def test_a_field_the_letter_requires_must_be_given(client, open_letter):
    open_letter.signing_fields = {"country": "required", "city": "optional"}
    open_letter.save()

    missing = join(client, open_letter, **sign_form(open_letter, country=""))
    given = join(client, open_letter, **sign_form(open_letter, country="Freedonia"))

    assert missing.status_code == 200
    assert "This field is required." in missing.content.decode()
    assert given.status_code == 302
    assert Signature.objects.get().country == "Freedonia"


def test_an_individual_sees_an_individuals_wording(client, open_letter):
    open_letter.signer_kinds = Letter.SignerKinds.INDIVIDUALS
    open_letter.save()

    page = join_page(client, open_letter)

    assert "Your name" in page
    assert "List me publicly with the other signers" in page
    assert "Send me updates from the coalition" in page
    assert "Your organisation&#x27;s name" not in page
    assert "List us publicly" not in page
    assert "authorised to sign on behalf" not in page
    assert "logo" not in page
    assert 'name="affiliation"' in page and 'name="website"' not in page


def test_a_letter_for_both_kinds_words_each_label_both_ways_for_the_page_to_pick(
    client, open_letter
):
    open_letter.signer_kinds = Letter.SignerKinds.BOTH
    open_letter.signing_fields = {"affiliation": "required", "website": "required"}
    open_letter.save()

    page = join_page(client, open_letter)

    # Each kind's own required field is marked so, whichever kind shows first.
    for name, label in [
        ("affiliation", "Affiliation (for identification only)"),
        ("website", "Website"),
    ]:
        assert f'<label for="id_{name}">{label}</label>' in page
    assert (
        '<span class="for-organisation">Your organisation&#x27;s name</span>'
        '<span class="for-individual">Your name</span>'
    ) in page
    assert 'data-for-kind="organisation"' in page
    assert 'data-for-kind="individual"' in page
    assert 'class="form signing-form"' in page


def test_an_individual_signing_for_both_kinds_is_not_asked_an_organisations_fields(
    client, open_letter
):
    open_letter.signer_kinds = Letter.SignerKinds.BOTH
    open_letter.signing_fields = {"website": "required", "affiliation": "required"}
    open_letter.save()
    data = sign_form(
        open_letter,
        kind="individual",
        display_name="Ada Lovelace",
        website="https://example.org",
        consent_logo="on",
        attested=None,
    )

    without_affiliation = join(client, open_letter, **data)
    response = join(client, open_letter, **data, affiliation="Analytical Society")

    assert "This field is required." in without_affiliation.content.decode()
    assert response.status_code == 302
    ada = Signature.objects.get()
    assert ada.kind == Signature.Kind.INDIVIDUAL
    assert (ada.affiliation, ada.website) == ("Analytical Society", "")
    assert not ada.consent_logo and not ada.attested


def test_an_organisation_signing_a_letter_for_both_gives_what_organisations_must(
    client, open_letter
):
    open_letter.signer_kinds = Letter.SignerKinds.BOTH
    open_letter.signing_fields = {"website": "required", "affiliation": "required"}
    open_letter.save()

    missing = join(client, open_letter, **sign_form(open_letter, kind="organisation"))
    response = join(
        client,
        open_letter,
        **sign_form(
            open_letter,
            kind="organisation",
            website="friends.example.org",
            affiliation="Ignored",
        ),
    )

    assert "This field is required." in missing.content.decode()
    assert response.status_code == 302
    signature = Signature.objects.get()
    assert signature.website == "https://friends.example.org"
    assert signature.affiliation == ""


# --- The letter's settings ------------------------------------------------------


def settings_url(letter):
    return reverse("letters:settings", args=[letter.slug])


def choose(client, letter, **choices):
    """Post the settings page's signing form."""
    data = {f"signing-{name}": state for name, state in choices.items()}
    return client.post(settings_url(letter), {"signing-form": "1", **data})


def test_organisers_choose_the_signing_forms_fields_and_the_log_says_so(
    client, letter, organiser
):
    client.force_login(organiser)
    choices = dict.fromkeys(
        [
            "city",
            "country",
            "website",
            "contact_name",
            "contact_title",
            "affiliation",
            "phone",
            "comment",
        ],
        "hidden",
    ) | {"country": "required", "website": "optional"}

    page = client.get(settings_url(letter)).content.decode()
    response = choose(client, letter, **choices)

    assert "Signing form" in page and 'name="signing-phone"' in page
    assert response.status_code == 302
    letter.refresh_from_db()
    assert letter.signing_fields == {"country": "required", "website": "optional"}
    event = AuditEvent.objects.get(letter=letter)
    assert describe(event) == "Changed settings: signing form"


def test_viewers_cannot_change_the_signing_form(client, letter):
    viewer = UserFactory()
    Membership.objects.create(letter=letter, user=viewer, role=Membership.Role.VIEWER)
    client.force_login(viewer)

    response = choose(client, letter, city="hidden")

    assert response.status_code == 403
    letter.refresh_from_db()
    assert letter.signing_fields["city"] == "optional"


def test_a_choice_that_is_not_offered_is_refused(client, letter, organiser):
    client.force_login(organiser)

    response = choose(client, letter, city="mandatory")

    assert "Select a valid choice." in response.content.decode()
    letter.refresh_from_db()
    assert letter.signing_fields["city"] == "optional"


def test_the_service_refuses_a_field_the_signing_form_does_not_have(letter):
    with pytest.raises(ValidationError):
        letter_update_settings(
            letter=letter,
            actor=letter.memberships.get().user,
            signing_fields={"passport_number": "required"},
        )

    assert clean_signing_fields(
        {"phone": "hidden", "city": "required", "country": "optional"}
    ) == {"city": "required", "country": "optional"}
