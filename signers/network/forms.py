from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from signers.models import Partner
from signers.network.graph import Network


class MapFilterForm(forms.Form):
    """The map's filters: a GET form that filters the table on the server, and
    that the map's script reads to filter the picture in place."""

    tag = forms.ChoiceField(label=_("Issue area"), required=False)
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    letter = forms.TypedChoiceField(
        label=_("Signed"), required=False, coerce=int, empty_value=None
    )
    colour = forms.ChoiceField(
        label=_("Colour by"),
        required=False,
        choices=[("cluster", _("Cluster")), ("kind", _("Kind"))],
    )
    letters = forms.BooleanField(label=_("Show the letters as dots"), required=False)

    def __init__(self, *args: Any, network: Network, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tags = sorted({t for p in network.partners for t in p.tags}, key=str.casefold)
        kinds = {p.kind for p in network.partners}
        choices: dict[str, list[tuple[Any, Any]]] = {
            "tag": [("", _("All")), *((t, t) for t in tags)],
            "kind": [
                ("", _("All")),
                *((k.value, k.label) for k in Partner.Kind if k.value in kinds),
            ],
            "letter": [
                ("", _("Any letter")),
                *((letter.id, letter.title) for letter in network.letters),
            ],
        }
        for name, values in choices.items():
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = values

    def filters(self) -> dict[str, Any]:
        if not self.is_bound or not self.is_valid():
            return {"tag": "", "kind": "", "letter": None}
        return {k: self.cleaned_data[k] for k in ("tag", "kind", "letter")}
