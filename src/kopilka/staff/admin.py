from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from kopilka.staff.models import StaffProfile

User = get_user_model()


class StaffProfileInline(admin.StackedInline):
    """The stores a person works in, on the user's own page (roles are the user's groups)."""

    model = StaffProfile
    can_delete = False
    filter_horizontal = ["stores"]
    fk_name = "user"


class StaffUserAdmin(UserAdmin):
    inlines = [*UserAdmin.inlines, StaffProfileInline]


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, StaffUserAdmin)
