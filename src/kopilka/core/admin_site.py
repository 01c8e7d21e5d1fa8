"""The admin as the owner's tool: sections in the order an owner needs them, internals last.

Django lists apps alphabetically under their app names. Here the owner's sections come first
(members, stores and sales, the program), and every read-only bookkeeping table (transfers,
postings, lots, lot spends, the audit log, idempotency records, scheduled runs) is one section,
"Accounting (read-only)", whichever app holds the model.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

# Apps whose models form the read-only accounting section; its page is the first app's page.
ACCOUNTING_APPS = ("ledger", "core")
ACCOUNTING = "accounting"
# The owner's sections first, then staff accounts, then internals; any other app follows.
SECTION_ORDER = (
    "members",
    "pos",
    "program",
    "messaging",
    "auth",
    "axes",
    ACCOUNTING,
    "django_tasks_database",
)
# Within a section: the tables an owner opens most first; others follow alphabetically.
MODEL_ORDER = (
    "Member",
    "Card",
    "Consent",
    "Store",
    "Terminal",
    "Purchase",
    "PurchaseReturn",
    "Transfer",
    "PointLot",
    "LotSpend",
    "Posting",
    "AuditEntry",
    "IdempotencyRecord",
    "ScheduledRun",
)
# Third-party sections and tables whose own names are English.
SECTION_NAMES = {"axes": _("Sign-in attempts"), "django_tasks_database": _("Background tasks")}
MODEL_NAMES = {"DBTaskResult": _("Task results")}


def _rank(order: tuple[str, ...], key: str, name: object) -> tuple[int, str]:
    return (order.index(key) if key in order else len(order)), str(name).lower()


class KopilkaAdminSite(admin.AdminSite):
    site_header = _("Kopilka: administration")
    site_title = _("Kopilka")
    index_title = _("Your loyalty program")

    def app_index(
        self, request: HttpRequest, app_label: str, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        # titled with the section's name, not "Administration of the «…» application"
        sections = self.get_app_list(request, app_label)
        title = {"title": sections[0]["name"]} if sections else {}
        return super().app_index(request, app_label, {**title, **(extra_context or {})})

    def get_app_list(
        self, request: HttpRequest, app_label: str | None = None
    ) -> list[dict[str, Any]]:
        if app_label in ACCOUNTING_APPS:
            # either accounting app's page shows the whole section
            apps = {label: self._build_app_dict(request, label) for label in ACCOUNTING_APPS}
            app_dict = {label: app for built in apps.values() for label, app in built.items()}
        else:
            app_dict = self._build_app_dict(request, app_label)
        accounting = [
            model
            for label in ACCOUNTING_APPS
            for model in app_dict.pop(label, {"models": []})["models"]
        ]
        if accounting:
            app_dict[ACCOUNTING] = {
                "name": _("Accounting (read-only)"),
                "app_label": ACCOUNTING,
                "app_url": reverse(
                    "admin:app_list", args=[ACCOUNTING_APPS[0]], current_app=self.name
                ),
                "has_module_perms": True,
                "models": accounting,
            }
        for label, name in SECTION_NAMES.items():
            if label in app_dict:
                app_dict[label]["name"] = name
        app_list = sorted(
            app_dict.values(), key=lambda app: _rank(SECTION_ORDER, app["app_label"], app["name"])
        )
        for app in app_list:
            for model in app["models"]:
                model["name"] = MODEL_NAMES.get(model["object_name"], model["name"])
            app["models"].sort(key=lambda m: _rank(MODEL_ORDER, m["object_name"], m["name"]))
        return app_list
