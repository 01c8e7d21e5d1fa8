"""The roles as groups with their permissions: owner (everything), marketer (program, rewards,
campaigns, templates), store manager (stores, purchases, returns, members; the cashier screen),
cashier (the cashier screen only)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from kopilka.staff.roles import ROLES, roles_make


def roles_create(apps, schema_editor):
    for app_config in apps.get_app_configs():  # permissions exist only after post_migrate
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    roles_make(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


def roles_drop(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("program", "0003_simulation"),
        ("rewards", "0002_voucher_discount"),
        ("campaigns", "0003_lighter_unique_indexes"),
        ("messaging", "0007_message_to_address"),
        ("pos", "0004_program_engine"),
        ("members", "0009_member_password"),
    ]
    operations = [migrations.RunPython(roles_create, roles_drop)]
