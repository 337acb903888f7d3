from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SignersConfig(AppConfig):
    name = "signers"
    verbose_name = _("Signers")

    def ready(self) -> None:
        # signers builds on letters; letters reaches back through this one hook.
        from letters import hooks
        from signers.hooks import SignerSide

        hooks.register(SignerSide())
