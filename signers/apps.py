from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SignersConfig(AppConfig):
    name = "signers"
    verbose_name = _("Signers")
