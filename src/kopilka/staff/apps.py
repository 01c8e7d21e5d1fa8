from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _roles(**kwargs: Any) -> None:
    """After every migrate (and a test database's flush), the role groups are there with every
    permission made so far: each app's post_migrate adds its own, so this runs after each."""
    from django.contrib.auth.models import Group, Permission
    from django.db import connections

    from kopilka.staff.roles import roles_make

    tables = connections[kwargs.get("using", "default")].introspection.table_names()
    if not {"auth_group", "auth_permission", "staff_staffprofile"} <= set(tables):
        return  # a partial migrate (to an earlier state of some app) before the roles exist
    if Permission.objects.filter(content_type__app_label="staff", codename="use_till").exists():
        roles_make(Group, Permission)


class StaffConfig(AppConfig):
    name = "kopilka.staff"
    verbose_name = _("Staff")

    def ready(self) -> None:
        post_migrate.connect(_roles, dispatch_uid="kopilka.staff.roles")
