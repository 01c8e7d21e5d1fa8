from django.contrib import admin
from django.contrib.auth import get_user_model

from kopilka.core.admin import StaffUserAdmin
from kopilka.staff.models import StaffProfile

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
