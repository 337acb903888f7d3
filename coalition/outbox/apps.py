from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutboxConfig(AppConfig):
    """The one outbox: every email the site sends is a row here, sent only by
    the dispatcher (``coalition.outbox.services.outbox_dispatch``)."""

    name = "coalition.outbox"
    label = "outbox"
    verbose_name = _("Outbox")
    default_auto_field = "django.db.models.BigAutoField"
