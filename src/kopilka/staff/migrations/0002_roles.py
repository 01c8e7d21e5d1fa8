"""The roles as groups with their permissions: owner (everything), marketer (program, rewards,
campaigns, templates), store manager (stores, purchases, returns, members; the cashier screen),
cashier (the cashier screen only)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "marketer": ["program", "rewards", "campaigns", "messaging"],
    "store_manager": ["pos", "members"],
}


def roles_create(apps, schema_editor):
    for app_config in apps.get_app_configs():  # permissions exist only after post_migrate
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    till = Permission.objects.get(content_type__app_label="staff", codename="use_till")
    owner, _ = Group.objects.get_or_create(name="owner")
    owner.permissions.set(Permission.objects.all())
    for name, labels in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(Permission.objects.filter(content_type__app_label__in=labels))
    Group.objects.get(name="store_manager").permissions.add(till)
    cashier, _ = Group.objects.get_or_create(name="cashier")
    cashier.permissions.set([till])


def roles_drop(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(
        name__in=["owner", "marketer", "store_manager", "cashier"]
    ).delete()


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
