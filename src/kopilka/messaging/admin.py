from django.contrib import admin

from kopilka.core.admin_utils import ReadOnlyAdmin
from kopilka.messaging.models import Message


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
