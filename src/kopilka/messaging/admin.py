from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy

from kopilka.core.admin_utils import ReadOnlyAdmin, TitledAdmin
from kopilka.messaging.models import Message, MessageTemplate
from kopilka.messaging.preview import preview_member, template_preview
from kopilka.messaging.texts import (
    TemplateInvalid,
    advertising,
    sample_length,
    sms_template_check,
    template_check,
    variables_for,
)


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    """The outbox as sent: what, to whom, when, and why a message waited or was not sent."""

    list_display = ["id", "created_at", "member", "channel", "purpose", "trigger", "status"]
    list_display += ["reason", "sent_at", "parts"]
    list_filter = ["status", "channel", "purpose", "trigger", "reason"]
    search_fields = ["dedup_key", "address", "member__phone"]
    date_hierarchy = "created_at"
    list_select_related = ["member"]
    raw_id_fields = ["member", "consent"]


class MessageTemplateForm(forms.ModelForm[MessageTemplate]):
    preview_member = forms.CharField(
        label=gettext_lazy("Preview for"),
        required=False,
        help_text=gettext_lazy("a member's id, phone or card number; blank: the newest member"),
    )

    class Meta:
        model = MessageTemplate
        fields = ["name", "channel", "language", "subject", "text", "preview_member"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        variables = variables_for(data.get("name") or "")
        try:
            for field in ("subject", "text"):
                template_check(data.get(field) or "", variables)
            if data.get("channel") == Message.Channel.SMS and data.get("text"):
                marketing = advertising(data.get("name") or "")
                sms_template_check(data["text"], variables, advertising=marketing)
        except TemplateInvalid as exc:
            raise forms.ValidationError(exc.message) from None
        return data


@admin.register(MessageTemplate)
class MessageTemplateAdmin(TitledAdmin):
    form = MessageTemplateForm
    list_display = ["name", "channel", "language", "length", "updated_at"]
    list_filter = ["channel", "language"]
    readonly_fields = ["length", "preview"]

    class Media:
        js = ["messaging/template_preview.js"]
        css = {"all": ["messaging/template_preview.css"]}

    def get_urls(self) -> list[URLPattern]:
        preview = path(
            "preview/",
            self.admin_site.admin_view(self.preview_view),
            name="messaging_messagetemplate_preview",
        )
        return [preview, *super().get_urls()]

    def preview_view(self, request: HttpRequest) -> JsonResponse:
        """The live preview: the form's current values rendered for a real member."""
        if not self.has_view_permission(request):
            return JsonResponse({"error": gettext("Not allowed.")}, status=403)
        query = request.GET
        result = template_preview(
            name=query.get("name", "")[:64],
            channel=query.get("channel", Message.Channel.SMS),
            language=query.get("language", "ru") if query.get("language") in ("ru", "en") else "ru",
            subject=query.get("subject", "")[:200],
            text=query.get("text", "")[:5000],
            member=preview_member(query.get("member", "")[:40]),
        )
        length = length_text(result.characters, result.parts, result.encoding)
        return JsonResponse({**result.as_dict(), "length": length})

    @admin.display(description=gettext_lazy("preview"))
    def preview(self, template: MessageTemplate | None) -> str:
        shown = template_preview(
            name=template.name if template else "",
            channel=template.channel if template else Message.Channel.SMS,
            language=template.language if template else "ru",
            subject=template.subject if template else "",
            text=template.text if template else "",
            member=preview_member(""),
        )
        url = reverse("admin:messaging_messagetemplate_preview")
        return format_html(
            '<div id="template-preview" data-url="{}" aria-live="polite">'
            '<p class="template-preview-who">{}</p><p class="template-preview-subject">{}</p>'
            '<pre class="template-preview-text">{}</pre><p class="template-preview-length">{}</p>'
            '<p class="template-preview-error errornote"{}>{}</p></div>',
            url,
            shown.member,
            shown.subject,
            shown.text,
            length_text(shown.characters, shown.parts, shown.encoding),
            "" if shown.error else " hidden",
            shown.error,
        )

    @admin.display(description=gettext_lazy("length (with sample values)"))
    def length(self, template: MessageTemplate) -> str:
        if not template.text:
            return "—"
        try:
            variables = variables_for(template.name)
            length = sample_length(template.text, variables, advertising=advertising(template.name))
        except TemplateInvalid as exc:
            return exc.message
        if template.channel != Message.Channel.SMS:
            return length_text(length.characters, 0, "")
        encoding = "UCS-2" if length.encoding == "ucs2" else "GSM-7"
        return length_text(length.characters, length.parts, encoding)


def length_text(characters: int, parts: int, encoding: str) -> str:
    if not parts:
        return gettext("%(characters)s characters") % {"characters": characters}
    return gettext("%(characters)s characters, %(parts)s SMS parts (%(encoding)s)") % {
        "characters": characters,
        "parts": parts,
        "encoding": encoding,
    }
