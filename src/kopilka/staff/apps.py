from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _roles(app_config: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """After every migrate (and a test database's flush), the role groups are there with every
    permission: made once, at the signal of the last app, after each app added its own."""
    from django.apps import apps
    from django.contrib.auth.models import Group, Permission
    from django.db import connections

    from kopilka.staff.roles import roles_make

    with_models = [config for config in apps.get_app_configs() if config.models_module]
    if app_config is not with_models[-1]:
        return
    tables = connections[using].introspection.table_names()
    if not {"auth_group", "auth_permission", "staff_staffprofile"} <= set(tables):
        return  # a partial migrate (to an earlier state of some app) before the roles exist
    if Permission.objects.filter(content_type__app_label="staff", codename="use_till").exists():
        roles_make(Group, Permission)


class StaffConfig(AppConfig):
    name = "kopilka.staff"
    verbose_name = _("Staff")

    def ready(self) -> None:
        post_migrate.connect(_roles, dispatch_uid="kopilka.staff.roles")
