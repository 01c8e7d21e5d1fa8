from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from kopilka.core.audit import Actor
from kopilka.program.models import ProgramSettings
from kopilka.program.services import program_settings_update

FIELDS = ("earn_rate_bp", "max_redeem_share_bp", "pending_days", "expiry_days")


@admin.register(ProgramSettings)
class ProgramSettingsAdmin(admin.ModelAdmin):
    list_display = [*FIELDS, "updated_at"]
    fields = FIELDS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not ProgramSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: ProgramSettings, form: Any, change: bool
    ) -> None:
        saved = program_settings_update(
            actor=Actor.staff(request.user), **{name: form.cleaned_data[name] for name in FIELDS}
        )
        obj.pk = saved.pk
