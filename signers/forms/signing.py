"""Forms a signer fills in: signing, details, referrals, change requests, declining."""

from typing import Any, Final

from django import forms
from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from coalition.forms import TextField
from letters.models import (
    SIGNING_OPTIONAL_FIELDS,
    Letter,
    Revision,
    SigningFieldState,
)
from signers.models import Signature
from signers.names import clean_display_name
from signers.selectors.signatures import revision_anchors


class NameField(TextField):
    """A public name: as TextField, and stored without invisible characters
    (zero-width spaces, soft hyphens…), as signers.names cleans it."""

    def clean(self, value: Any) -> Any:
        value = clean_display_name(super().clean(value))
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")
        return value


class EmailField(forms.EmailField):
    """Lower-cased: one signature per address, however it was typed."""

    def clean(self, value: Any) -> Any:
        return super().clean(value).lower()


class HoneypotMixin(forms.Form):
    """A field people never see (hidden by CSS, skipped by tab) and bots fill."""

    leave_empty = TextField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(
            attrs={"class": "honeypot", "autocomplete": "off", "tabindex": "-1"}
        ),
    )

    def clean_leave_empty(self) -> str:
        if self.cleaned_data.get("leave_empty"):
            raise ValidationError(
                _("Please leave the last field empty: it is there to stop robots."),
                code="honeypot",
            )
        return ""


def _website_field() -> forms.URLField:
    return forms.URLField(
        label=_("Website"),
        max_length=300,
        required=False,
        assume_scheme="https",
        help_text=_("Public."),
    )


# Fields only one kind of signer is asked; the other kind never sends them.
FOR_KIND: Final[dict[str, str]] = {
    **dict.fromkeys(
        ["website", "contact_name", "contact_title", "consent_logo", "attested"],
        Signature.Kind.ORGANISATION,
    ),
    "affiliation": Signature.Kind.INDIVIDUAL,
}
# An individual's wording, where it is not an organisation's (the field's label).
INDIVIDUAL_LABELS: Final = {
    "display_name": _("Your name"),
    "consent_listed": _("List me publicly with the other signers"),
    "consent_updates": _("Send me updates from the coalition"),
}


def _both_labels(organisation: str | Promise, individual: str | Promise) -> str:
    """A label in both wordings; the page shows the one of the kind chosen
    (static/css/site.css, ``.signing-form``)."""
    return format_html(
        '<span class="for-organisation">{}</span>'
        '<span class="for-individual">{}</span>',
        organisation,
        individual,
    )


class SignatureForm(HoneypotMixin):
    """Sign for an organisation or as an individual (as the letter allows),
    asked the optional fields the letter chose (``Letter.signing_fields``) and
    worded for the kind of signer. A field the letter does not ask is not in
    the form: a value posted for it is ignored."""

    kind = forms.ChoiceField(
        label=_("Signing as"),
        choices=Signature.Kind.choices,
        widget=forms.RadioSelect,
        initial=Signature.Kind.ORGANISATION,
    )
    display_name = NameField(
        label=_("Your organisation's name"), max_length=200, help_text=_("Public.")
    )
    affiliation = TextField(
        label=_("Affiliation (for identification only)"),
        max_length=200,
        required=False,
        help_text=_("Public."),
    )
    city = TextField(
        label=_("City or region"),
        max_length=120,
        required=False,
        help_text=_("Public."),
    )
    country = TextField(
        label=_("Country"), max_length=120, required=False, help_text=_("Public.")
    )
    website = _website_field()
    contact_name = TextField(
        label=_("Your name"),
        max_length=200,
        required=False,
        help_text=_("Private: only the organisers see it."),
    )
    contact_title = TextField(
        label=_("Your title or role"), max_length=200, required=False
    )
    email = EmailField(
        label=_("Email"),
        max_length=254,
        help_text=_("Private. We send your receipt here."),
    )
    phone = TextField(label=_("Phone"), max_length=50, required=False)
    comment = TextField(
        label=_("Comment to the organisers"),
        multiline=True,
        max_length=2000,
        required=False,
        help_text=_("Private."),
    )
    consent_listed = forms.BooleanField(
        label=_("List us publicly with the other signers"),
        required=False,
        initial=True,
    )
    consent_updates = forms.BooleanField(
        label=_("Send us updates from the coalition"), required=False
    )
    consent_logo = forms.BooleanField(
        label=_("Our logo may be shown with the letter"), required=False
    )
    attested = forms.BooleanField(
        label=_("I am authorised to sign on behalf of this organisation"),
        required=False,
    )
    revision = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, letter: Letter, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.letter = letter
        # The honeypot goes last, after the fields people fill in.
        self.order_fields([f for f in self.fields if f != "leave_empty"])
        both = letter.signer_kinds == Letter.SignerKinds.BOTH
        if not both:
            del self.fields["kind"]
        for name in SIGNING_OPTIONAL_FIELDS:
            state = letter.signing_field(name)
            if state == SigningFieldState.HIDDEN:
                del self.fields[name]
            else:
                self.fields[name].required = state == SigningFieldState.REQUIRED
        chosen = self._chosen_kind()
        for name, kind in FOR_KIND.items():
            field = self.fields.get(name)
            if field is None:
                continue
            if not both and kind != chosen:
                del self.fields[name]
                continue
            # Shown only to its kind (static/css/site.css), needed only from
            # it (``full_clean``).
            field.widget.attrs["data-for-kind"] = kind
        for name, label in INDIVIDUAL_LABELS.items():
            field = self.fields[name]
            if both:
                field.label = _both_labels(field.label or "", label)
            elif chosen == Signature.Kind.INDIVIDUAL:
                field.label = label

    def _chosen_kind(self) -> str:
        """The kind this form is for: the letter's only one, or the one chosen."""
        if self.letter.signer_kinds == Letter.SignerKinds.INDIVIDUALS:
            return Signature.Kind.INDIVIDUAL
        if self.letter.signer_kinds == Letter.SignerKinds.ORGANISATIONS:
            return Signature.Kind.ORGANISATION
        posted = self.data.get(self.add_prefix("kind")) if self.is_bound else None
        if posted in Signature.Kind.values:
            return str(posted)
        return Signature.Kind.ORGANISATION

    @property
    def signer_kind(self) -> str:
        return self._chosen_kind()

    def full_clean(self) -> None:
        """Validate as the kind chosen: another kind's fields are not needed
        (and ``signature_fields`` leaves them out)."""
        kind = self._chosen_kind()
        relaxed = [
            field
            for name, field in self.fields.items()
            if field.required and FOR_KIND.get(name, kind) != kind
        ]
        for field in relaxed:
            field.required = False
        try:
            super().full_clean()
        finally:
            for field in relaxed:
                field.required = True

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.signer_kind == Signature.Kind.ORGANISATION and not data.get("attested"):
            self.add_error(
                "attested",
                ValidationError(
                    _(
                        "Please confirm that you are authorised to sign on "
                        "behalf of this organisation."
                    ),
                    code="attestation",
                ),
            )
        return data

    def signature_fields(self) -> dict[str, Any]:
        """Keyword arguments for ``signature_create``: the fields this form
        asks the kind of signer chosen, and nothing else."""
        data = self.cleaned_data
        kind = self.signer_kind
        fields: dict[str, Any] = {"kind": kind}
        for name in (
            "display_name", "affiliation", "city", "country", "website",
            "contact_name", "contact_title", "email", "phone", "comment",
            "consent_listed", "consent_updates", "consent_logo", "attested",
        ):  # fmt: skip
            if name in data and FOR_KIND.get(name, kind) == kind:
                fields[name] = data[name]
        return fields


class RevisionForm(forms.Form):
    """The one button behind an emailed link: it names the text it was shown."""

    revision = forms.IntegerField(widget=forms.HiddenInput)


class StatusRequestForm(forms.Form):
    """Asks for an address's signature status to be emailed to it (the join
    form's answer to "this address has already signed")."""

    email = EmailField(widget=forms.HiddenInput)


class PublicDetailsForm(forms.Form):
    """What a signer may correct from their receipt's link."""

    display_name = NameField(
        label=_("Name"),
        max_length=200,
        help_text=_("A new name is checked by the organisers before it is shown."),
    )
    affiliation = TextField(
        label=_("Affiliation (for identification only)"),
        max_length=200,
        required=False,
    )
    city = TextField(label=_("City or region"), max_length=120, required=False)
    country = TextField(label=_("Country"), max_length=120, required=False)
    website = _website_field()
    consent_listed = forms.BooleanField(
        label=_("List us publicly with the other signers"), required=False
    )
    consent_updates = forms.BooleanField(
        label=_("Send us updates from the coalition"), required=False
    )
    consent_logo = forms.BooleanField(
        label=_("Our logo may be shown with the letter"), required=False
    )

    def __init__(self, *args: Any, signature: Signature, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if signature.kind == Signature.Kind.INDIVIDUAL:
            del self.fields["consent_logo"]
        else:
            del self.fields["affiliation"]


class ReferralForm(HoneypotMixin):
    organisation = TextField(label=_("Organisation"), max_length=200)
    contact_name = TextField(label=_("Contact name"), max_length=200, required=False)
    email = EmailField(label=_("Their email"), max_length=254)
    note = TextField(
        label=_("A note for the organisers"),
        multiline=True,
        max_length=1000,
        required=False,
    )


class ChangeRequestForm(forms.Form):
    anchor = forms.ChoiceField(label=_("Which part of the letter?"))
    text = TextField(
        label=_("What change would you ask for?"), multiline=True, max_length=2000
    )

    def __init__(self, *args: Any, revision: Revision, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["anchor"].choices = revision_anchors(revision=revision)  # type: ignore[attr-defined]


class DeclineForm(forms.Form):
    reason = TextField(
        label=_("Would you tell us why?"),
        multiline=True,
        max_length=2000,
        required=False,
    )
    anchor = forms.ChoiceField(
        label=_("Is there a part of the letter that stops you?"), required=False
    )
    change = TextField(
        label=_("What change would make you sign?"),
        multiline=True,
        max_length=2000,
        required=False,
    )

    def __init__(self, *args: Any, revision: Revision | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if revision is None:
            del self.fields["anchor"], self.fields["change"]
        else:
            self.fields["anchor"].choices = revision_anchors(revision=revision)  # type: ignore[attr-defined]
