from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class CoalitionConfig(AppConfig):
    name = "coalition"
    verbose_name = _("Coalition")


class SiteAdminConfig(admin_apps.AdminConfig):
    """The admin, whose login goes through allauth (coalition.admin_site)."""

    default_site = "coalition.admin_site.SiteAdmin"
    # Named in INSTALLED_APPS in place of django.contrib.admin; never the
    # configuration Django picks for the "coalition" app itself.
    default = False
