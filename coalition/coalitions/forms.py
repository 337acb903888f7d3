from django import forms
from django.utils.translation import gettext_lazy as _

from coalition.forms import TextField
from coalition.models import CoalitionMember


class CoalitionForm(forms.Form):
    name = TextField(label=_("Name"), max_length=200)
    description = TextField(label=_("Description"), required=False, multiline=True)
    is_public = forms.BooleanField(
        label=_("Show a public page of our published letters"),
        required=False,
        help_text=_(
            "It lists the coalition's published letters and, with each partner's "
            "consent, the partners who signed them. Contacts are never shown."
        ),
    )


class CoalitionCreateForm(forms.Form):
    name = TextField(label=_("Name of a new coalition"), max_length=200)


class CoalitionMemberAddForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"),
        help_text=_("Someone who already has an account on this site."),
    )
    role = forms.ChoiceField(
        label=_("Role"),
        choices=CoalitionMember.Role.choices,
        initial=CoalitionMember.Role.ORGANISER,
        help_text=_(
            "Viewers read everything; organisers also edit letters and the partner "
            "directory; owners also manage the members."
        ),
    )

    def clean_email(self) -> str:
        return str(self.cleaned_data["email"]).strip().lower()


class CoalitionMemberRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=CoalitionMember.Role.choices)
