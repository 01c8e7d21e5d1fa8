"""The program's versions in the admin: read, never edited; a new one from a form or a file."""

import json
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kopilka.core import clock
from kopilka.core.admin_utils import TitledAdmin
from kopilka.core.audit import Actor
from kopilka.core.errors import DomainError
from kopilka.program.engine.document import (
    DocumentError,
    document_warnings,
    program_from_document,
    program_to_document,
)
from kopilka.program.engine.explain import program_explained
from kopilka.program.forms import DOCUMENT_FIELDS, ProgramVersionForm
from kopilka.program.models import ProgramVersion
from kopilka.program.selectors import program_in_force, program_in_force_since
from kopilka.program.services import program_version_create

MODE_NAMES = {
    "points": gettext_lazy("Bonus points"),
    "discount": gettext_lazy("Discount card"),
    "accumulating_discount": gettext_lazy("Accumulating discount"),
}


@admin.register(ProgramVersion)
class ProgramVersionAdmin(TitledAdmin):
    """Versions are immutable: the list and each version are read-only, and "add" makes a new
    version through `program_version_create`, from the main figures or an uploaded document."""

    add_title = gettext_lazy("New program version")
    list_display = ("number", "program_name", "mode", "effective_from", "status", "created_by")
    list_display_links = ("number", "program_name")
    ordering = ("-effective_from", "-id")
    fields = (
        "status",
        "effective_from",
        "created_at",
        "created_by",
        "note",
        "explanation",
        "pretty_document",
    )
    readonly_fields = fields

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("version"), ordering="id")
    def number(self, obj: ProgramVersion) -> int:
        return obj.pk

    @admin.display(description=gettext_lazy("program name"))
    def program_name(self, obj: ProgramVersion) -> str:
        return str(obj.document.get("name", ""))

    @admin.display(description=gettext_lazy("program type"))
    def mode(self, obj: ProgramVersion) -> str:
        mode = obj.document.get("mode", "")
        return str(MODE_NAMES.get(mode, mode))

    @admin.display(description=gettext_lazy("status"))
    def status(self, obj: ProgramVersion) -> str:
        in_force = program_in_force().version
        if obj.pk == in_force:
            return _("in force")
        if obj.effective_from > clock.now():
            return _("scheduled")
        return _("replaced")

    @admin.display(description=gettext_lazy("the program in plain words"))
    def explanation(self, obj: ProgramVersion) -> SafeString:
        sentences = program_explained(program_from_document(obj.document, version=obj.pk))
        return format_html(
            '<div class="kopilka-explanation">{}</div>',
            format_html_join("", "<p>{}</p>", ((sentence,) for sentence in sentences)),
        )

    @admin.display(description=gettext_lazy("document"))
    def pretty_document(self, obj: ProgramVersion) -> SafeString:
        # in the document's own key order (PostgreSQL's jsonb keeps keys sorted its own way)
        document = program_to_document(program_from_document(obj.document, version=obj.pk))
        text = json.dumps(document, indent=2, ensure_ascii=False)
        return format_html('<pre class="kopilka-document">{}</pre>', text)

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """A new version: the main figures over the version in force, or a whole document."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        in_force, since = program_in_force_since()
        form = ProgramVersionForm(request.POST or None, request.FILES or None, in_force=in_force)
        if request.method == "POST" and form.is_valid():
            document = form.document(program_to_document(in_force))
            try:
                version = program_version_create(
                    actor=Actor.staff(request.user),
                    document=document,
                    effective_from=form.moment(),
                    note=form.cleaned_data["note"],
                )
            except DocumentError as error:
                for path, message in error.problems:
                    form.add_error(None, f"{path}: {message}")
            except DomainError as error:
                form.add_error("effective_from", error.message)
            else:
                return self._created(request, version)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "add": True,
            "has_view_permission": self.has_view_permission(request),
            "title": self.add_title,
            "form": form,
            "main_fields": [form[name] for name in DOCUMENT_FIELDS],
            "media": self.media + form.media,
            "in_force": in_force,
            "in_force_since": since,
            "in_force_rules": len(in_force.rules),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/program/programversion/add.html", context)

    def _created(self, request: HttpRequest, version: ProgramVersion) -> HttpResponse:
        for warning in document_warnings(version.document):
            self.message_user(request, warning, messages.WARNING)
        if version.effective_from > clock.now():
            text = _("Version %(number)d is saved and takes effect at %(moment)s.") % {
                "number": version.pk,
                "moment": timezone.localtime(version.effective_from).strftime("%Y-%m-%d %H:%M"),
            }
        else:
            text = _(
                "Version %(number)d is in force. New receipts follow it within %(seconds)d seconds."
            ) % {"number": version.pk, "seconds": settings.KOPILKA_RULES_CACHE_SECONDS}
        self.message_user(request, text, messages.SUCCESS)
        return HttpResponseRedirect(
            reverse("admin:program_programversion_change", args=[version.pk])
        )
