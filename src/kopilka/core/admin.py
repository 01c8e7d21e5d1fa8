from django.contrib import admin

from kopilka.core.admin_utils import ReadOnlyAdmin
from kopilka.core.models import AuditEntry, IdempotencyRecord


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_label", "action", "target_type", "target_id", "member_id"]
    list_filter = ["action"]
    search_fields = ["actor_label", "action"]
    date_hierarchy = "created_at"


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "scope", "key", "status_code"]
    search_fields = ["key"]
