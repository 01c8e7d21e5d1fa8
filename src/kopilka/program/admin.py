from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kopilka.core.admin_utils import TitledAdmin
from kopilka.core.audit import Actor
from kopilka.program.forms import ProgramSettingsForm
from kopilka.program.models import ProgramSettings
from kopilka.program.services import program_settings_update


@admin.register(ProgramSettings)
class ProgramSettingsAdmin(TitledAdmin):
    """One page: the program in force, in percent and days.

    The list is skipped: the section opens the settings themselves. Before anyone has saved them
    the page shows the defaults the engine already applies, and saving creates the row.
    """

    form = ProgramSettingsForm
    add_title = change_title = gettext_lazy("Program settings")
    fieldsets = [
        (None, {"fields": ("earn_rate_percent", "max_redeem_share_percent")}),
        (gettext_lazy("Points' life"), {"fields": ("pending_days", "expiry_days")}),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not ProgramSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_model_perms(self, request: HttpRequest) -> dict[str, bool]:
        # the index offers the settings page, not an "add" link for a second row
        return {**super().get_model_perms(request), "add": False}

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        row = ProgramSettings.objects.order_by("pk").first()
        if row is None:
            return HttpResponseRedirect(reverse("admin:program_programsettings_add"))
        return HttpResponseRedirect(reverse("admin:program_programsettings_change", args=[row.pk]))

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        one_page = {"show_save_and_add_another": False, "show_save_and_continue": False}
        return super().changeform_view(
            request, object_id, form_url, {**one_page, **(extra_context or {})}
        )

    def save_model(
        self, request: HttpRequest, obj: ProgramSettings, form: Any, change: bool
    ) -> None:
        saved = program_settings_update(actor=Actor.staff(request.user), **form.settings_values())
        obj.pk = saved.pk

    def _saved(self, request: HttpRequest, obj: ProgramSettings) -> HttpResponse:
        self.message_user(
            request,
            _("Program settings saved. New receipts follow them within %(seconds)d seconds.")
            % {"seconds": settings.KOPILKA_RULES_CACHE_SECONDS},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:program_programsettings_change", args=[obj.pk]))

    def response_add(
        self, request: HttpRequest, obj: ProgramSettings, post_url_continue: str | None = None
    ) -> HttpResponse:
        return self._saved(request, obj)

    def response_change(self, request: HttpRequest, obj: ProgramSettings) -> HttpResponse:
        return self._saved(request, obj)
