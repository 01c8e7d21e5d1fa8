from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kopilka.core.admin import StaffUserAdmin
from kopilka.core.admin_utils import ReadOnlyAdmin
from kopilka.core.audit import Actor
from kopilka.core.errors import DomainError
from kopilka.staff.models import StaffProfile, StaffToken
from kopilka.staff.tokens import staff_token_revoke

User = get_user_model()


class StaffProfileInline(admin.StackedInline):
    """The stores a person works in, on the user's own page (roles are the user's groups)."""

    model = StaffProfile
    can_delete = False
    filter_horizontal = ["stores"]
    fk_name = "user"


class UserWithStoresAdmin(StaffUserAdmin):
    inlines = [*StaffUserAdmin.inlines, StaffProfileInline]


admin.site.unregister(User)
admin.site.register(User, UserWithStoresAdmin)


@admin.action(description=gettext_lazy("Revoke the token"), permissions=["revoke"])
def revoke_tokens(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[StaffToken]
) -> None:
    actor = Actor.staff(request.user)
    for token in queryset.select_related("user").order_by("pk"):
        names = {"name": token.name, "user": token.user.get_username()}
        if token.revoked_at is not None:
            modeladmin.message_user(
                request,
                _("The token %(name)s of %(user)s was already revoked.") % names,
                messages.WARNING,
            )
            continue
        try:
            staff_token_revoke(token_id=token.pk, user=token.user, actor=actor)
        except DomainError as exc:  # revoked by its person a moment ago
            modeladmin.message_user(request, exc.message, messages.WARNING)
        else:
            modeladmin.message_user(
                request, _("The token %(name)s of %(user)s is revoked.") % names
            )


@admin.register(StaffToken)
class StaffTokenAdmin(ReadOnlyAdmin):
    """The staff's personal API tokens: made by their people on the profile page, revoked here
    by the owner (a person who leaves: deactivate them, and every token stops too)."""

    actions = [revoke_tokens]
    list_display = ["name", "user", "active", "key_prefix", "created_at", "last_used_at"]
    list_filter = ["user"]
    list_select_related = ["user"]
    search_fields = ["name", "user__username", "key_prefix"]
    fields = readonly_fields = (
        "user",
        "name",
        "key_prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
    )

    @admin.display(description=gettext_lazy("Active"), boolean=True)
    def active(self, token: StaffToken) -> bool:
        return token.revoked_at is None

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("staff.change_stafftoken")
