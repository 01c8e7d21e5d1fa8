"""Admin helpers: whole-phrase page titles, and ledger and audit rows shown, never edited."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.utils.functional import Promise
from django.utils.text import capfirst


class TitledAdmin(admin.ModelAdmin):
    """Page titles as whole phrases, so each language can decline the noun.

    Django titles pages "Add %s", "Change %s" and "Select %s to change" with the model's
    nominative name: in Russian that reads "Изменить участник". An admin names its phrases
    here ("Change member" → "Изменить участника"); a page without one is titled with the bare
    name ("Участники" for a list, "Операция" for one row), which is grammatical in any language.
    """

    add_title: str | Promise | None = None
    change_title: str | Promise | None = None
    change_list_template = "admin/kopilka/change_list.html"
    change_form_template = "admin/kopilka/change_form.html"

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {
            "title": capfirst(self.opts.verbose_name_plural),
            "add_title": self.add_title,
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        if add:
            title = self.add_title
        elif self.has_change_permission(request, obj):
            title = self.change_title
        else:
            title = None
        context["title"] = title or capfirst(self.opts.verbose_name)
        return super().render_change_form(request, context, add, change, form_url, obj)


class ReadOnlyAdmin(TitledAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
