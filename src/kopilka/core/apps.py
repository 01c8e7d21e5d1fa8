from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "kopilka.core"
    label = "core"
    # Its tables (the audit log, idempotency records) are bookkeeping, shown with the ledger's.
    verbose_name = _("Accounting (read-only)")
    default = True


class AdminConfig(admin_apps.AdminConfig):
    """Django's admin with Kopilka's site: INSTALLED_APPS names this instead of django.contrib.admin."""

    default = False
    default_site = "kopilka.core.admin_site.KopilkaAdminSite"
