from typing import Any

from django import forms
from django.contrib import admin
from django.utils.translation import gettext, gettext_lazy

from kopilka.core.admin_utils import ReadOnlyAdmin, TitledAdmin
from kopilka.messaging.models import Message, MessageTemplate
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
    class Meta:
        model = MessageTemplate
        fields = ["name", "channel", "language", "subject", "text"]

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
    readonly_fields = ["length"]

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
            return gettext("%(characters)s characters") % {"characters": length.characters}
        return gettext("%(characters)s characters, %(parts)s SMS parts (%(encoding)s)") % {
            "characters": length.characters,
            "parts": length.parts,
            "encoding": "UCS-2" if length.encoding == "ucs2" else "GSM-7",
        }
