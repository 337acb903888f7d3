from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator
from django.db.models import QuerySet
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from coalition.forms import TextField
from coalition.models import User
from signers.models import Agreement, Partner, Tag

AGREEMENT_EXTENSIONS = ["pdf", "odt", "doc", "docx", "txt", "png", "jpg", "jpeg"]


def _lines(value: str) -> list[str]:
    """One item a line, or separated by commas or semicolons."""
    items = value.replace(";", "\n").replace(",", "\n").splitlines()
    return [item.strip() for item in items if item.strip()]


class HolderChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.display_name or obj.email)


class PartnerForm(forms.Form):
    name = TextField(label=_("Name"), max_length=200)
    other_names = TextField(
        label=_("Other names"),
        required=False,
        multiline=True,
        help_text=_("Names it has signed or is known under, one a line."),
    )
    website = forms.URLField(
        label=_("Website"), max_length=300, required=False, assume_scheme="https"
    )
    email_domains = TextField(
        label=_("Email domains"),
        required=False,
        help_text=_(
            "Where its people write from, separated by commas: example.org. "
            "Addresses anyone can have (gmail.com…) are not accepted."
        ),
    )
    place = TextField(label=_("Place"), max_length=120, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=Partner.Kind.choices)
    tags = TextField(
        label=_("Issue areas"),
        required=False,
        help_text=_("Separated by commas: housing, climate."),
    )
    members_count = forms.IntegerField(label=_("Members"), min_value=0, required=False)
    staff_count = forms.IntegerField(label=_("Staff"), min_value=0, required=False)
    reach = forms.IntegerField(
        label=_("Reach"),
        min_value=0,
        required=False,
        help_text=_("How many people it can mobilise: supporters, followers."),
    )
    influence = forms.ChoiceField(
        label=_("Level of influence"),
        choices=[("", _("Not known")), *Partner.Influence.choices],
        required=False,
    )
    holder = HolderChoiceField(
        label=_("Relationship held by"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("No one yet"),
    )
    stakeholders = TextField(label=_("Stakeholders"), required=False, multiline=True)
    relationships = TextField(
        label=_("Relationships"),
        required=False,
        multiline=True,
        help_text=_("Who they work with, fund or answer to; past collaborations."),
    )
    shared_interests = TextField(
        label=_("Shared interests"), required=False, multiline=True
    )
    deal_breakers = TextField(label=_("Deal-breakers"), required=False, multiline=True)
    listed_publicly = forms.BooleanField(
        label=_("May be named on the coalition's public page"),
        required=False,
        help_text=_("Only with the partner's consent."),
    )

    def __init__(self, *args: Any, holders: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["holder"].queryset = holders  # type: ignore[attr-defined]

    def clean_other_names(self) -> list[str]:
        return [n.strip() for n in self.cleaned_data["other_names"].splitlines() if n]

    def clean_email_domains(self) -> list[str]:
        return _lines(self.cleaned_data["email_domains"])

    def clean_tags(self) -> list[str]:
        return _lines(self.cleaned_data["tags"])

    @staticmethod
    def initial_for(partner: Partner) -> dict[str, Any]:
        fields = [
            "name", "website", "place", "kind", "members_count", "staff_count",
            "reach", "influence", "holder", "stakeholders", "relationships",
            "shared_interests", "deal_breakers", "listed_publicly",
        ]  # fmt: skip
        initial = {f: getattr(partner, f) for f in fields}
        initial["other_names"] = "\n".join(n.name for n in partner.other_names.all())
        initial["email_domains"] = ", ".join(
            d.domain for d in partner.email_domains.all()
        )
        initial["tags"] = ", ".join(t.name for t in partner.tags.all())
        return initial


class PartnerFilterForm(forms.Form):
    q = TextField(label=_("Search"), required=False, max_length=200)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", _("All")), *Partner.Kind.choices], required=False
    )
    tag = forms.ModelChoiceField(
        label=_("Issue area"),
        queryset=Tag.objects.none(),
        required=False,
        empty_label=_("All"),
    )
    influence = forms.ChoiceField(
        label=_("Influence"),
        choices=[("", _("All")), *Partner.Influence.choices],
        required=False,
    )
    holder = forms.TypedChoiceField(
        label=_("Held by"), coerce=int, required=False, empty_value=None
    )
    sort = forms.ChoiceField(
        label=_("Sort by"),
        required=False,
        choices=[
            ("name", _("Name")),
            ("reach", _("Reach, largest first")),
            ("letters", _("Letters signed, most first")),
            ("updated", _("Recently changed")),
        ],
    )

    def __init__(
        self, *args: Any, tags: QuerySet[Tag], holders: QuerySet[User], **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self.fields["tag"].queryset = tags  # type: ignore[attr-defined]
        self.fields["holder"].choices = [  # type: ignore[attr-defined]
            ("", _("Anyone")),
            (0, _("No one")),
            *((u.pk, u.display_name or u.email) for u in holders),
        ]


class PartnerContactForm(forms.Form):
    name = TextField(label=_("Name"), max_length=200)
    email = forms.EmailField(label=_("Email"), required=False)
    role = TextField(label=_("Role"), max_length=200, required=False)
    phone = TextField(label=_("Phone"), max_length=50, required=False)
    consent_to_contact = forms.BooleanField(
        label=_("Agreed to be contacted by the coalition"), required=False
    )


class AgreementForm(forms.Form):
    title = TextField(label=_("Title"), max_length=200)
    text = TextField(label=_("Text"), required=False, multiline=True)
    status = forms.ChoiceField(label=_("Status"), choices=Agreement.Status.choices)
    date = forms.DateField(
        label=_("Date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    file = forms.FileField(
        label=_("File"),
        required=False,
        validators=[FileExtensionValidator(AGREEMENT_EXTENSIONS)],
        help_text=_("PDF, document or image, up to %(size)s.")
        % {"size": filesizeformat(settings.PARTNERS_AGREEMENT_MAX_BYTES)},
    )
    remove_file = forms.BooleanField(label=_("Remove the file"), required=False)

    def clean_file(self) -> Any:
        file = self.cleaned_data["file"]
        if file and file.size > settings.PARTNERS_AGREEMENT_MAX_BYTES:
            raise ValidationError(
                _("The file is larger than %(size)s.")
                % {"size": filesizeformat(settings.PARTNERS_AGREEMENT_MAX_BYTES)}
            )
        return file


class PartnerMergeForm(forms.Form):
    keep = forms.ModelChoiceField(
        label=_("Keep this partner"), queryset=Partner.objects.none()
    )
    absorb = forms.ModelChoiceField(
        label=_("and join into it"),
        queryset=Partner.objects.none(),
        help_text=_("This one's contacts, agreements, letters and names move over."),
    )

    def __init__(self, *args: Any, partners: QuerySet[Partner], **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.fields["keep"].queryset = partners  # type: ignore[attr-defined]
        self.fields["absorb"].queryset = partners  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("keep") and data.get("keep") == data.get("absorb"):
            raise ValidationError(_("Choose two different partners."))
        return data


class SuggestionFilterForm(forms.Form):
    tag = forms.ModelChoiceField(
        label=_("Issue area"),
        queryset=Tag.objects.none(),
        required=False,
        empty_label=_("All"),
    )
    place = TextField(label=_("Place"), required=False, max_length=120)
    influence = forms.ChoiceField(
        label=_("Influence"),
        choices=[("", _("All")), *Partner.Influence.choices],
        required=False,
    )
    past = forms.ChoiceField(
        label=_("Past answers"),
        required=False,
        choices=[
            ("", _("All")),
            ("signed", _("Signed an earlier letter")),
            ("declined", _("Declined before")),
            ("no_answer", _("Asked before, never answered")),
            ("never_asked", _("Never asked")),
        ],
    )

    def __init__(self, *args: Any, tags: QuerySet[Tag], **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.fields["tag"].queryset = tags  # type: ignore[attr-defined]
