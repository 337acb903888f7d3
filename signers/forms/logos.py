"""The logo an organisation may give: on the signing form and both edit pages."""

from typing import Any

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from signers.logos import Logo, logo_process


class LogoForm(forms.Form):
    """One optional file, decoded and re-encoded as it is cleaned; a second
    small form beside the page's own, so that it needs nothing from it."""

    logo = forms.FileField(
        label=_("Your organisation's logo (optional)"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg"}),
    )
    remove_logo = forms.BooleanField(label=_("Remove our logo"), required=False)

    def __init__(self, *args: Any, has_logo: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["logo"].help_text = _(
            "PNG or JPEG, up to %(size)s. Shown with your name only if you agree "
            "that your logo may be shown."
        ) % {"size": filesizeformat(settings.SIGNERS_LOGO_MAX_BYTES)}
        if not has_logo:
            del self.fields["remove_logo"]
        else:
            self.fields["logo"].label = _("A new logo (optional)")

    def clean_logo(self) -> Logo | None:
        upload = self.cleaned_data.get("logo")
        if not upload:
            return None
        return logo_process(upload, size=upload.size)

    def change(self) -> tuple[bool, Logo | None]:
        """(whether the logo changes, the new logo or None to remove it)."""
        logo: Logo | None = self.cleaned_data.get("logo")
        if logo is not None:
            return True, logo
        return bool(self.cleaned_data.get("remove_logo")), None
