from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy

from kopilka.core.admin_utils import ReadOnlyAdmin, TitledAdmin
from kopilka.core.models import AuditEntry, IdempotencyRecord, ScheduledRun


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


@admin.register(ScheduledRun)
class ScheduledRunAdmin(ReadOnlyAdmin):
    list_display = ["day", "job", "started_at", "finished_at", "done"]
    list_filter = ["job"]
    date_hierarchy = "day"

    @admin.display(boolean=True, description=gettext_lazy("done"))
    def done(self, run: ScheduledRun) -> bool | None:
        """A tick once done, a cross once failed, nothing while it runs."""
        if run.finished_at is not None:
            return True
        return False if run.error else None


# Django's own user and group pages, with titles Russian can decline ("Добавить пользователя").
User = get_user_model()
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class StaffUserAdmin(TitledAdmin, UserAdmin):
    add_title = gettext_lazy("Add user")
    change_title = gettext_lazy("Change user")
    add_form_template = "admin/kopilka/user_add_form.html"


@admin.register(Group)
class StaffGroupAdmin(TitledAdmin, GroupAdmin):
    add_title = gettext_lazy("Add group")
    change_title = gettext_lazy("Change group")
