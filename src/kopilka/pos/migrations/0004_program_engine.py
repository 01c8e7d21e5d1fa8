"""The program engine's columns, and the one-statement commit made generic.

`kopilka_purchase_commit` (0002) repeated the business rules in PL/pgSQL; it is dropped. What
replaces it (`pos.fast_commit`) is one data-modifying statement built from the models, guarded
by the member's `state_version`; the only function it needs is `kopilka_refuse`, which raises
and decides nothing. Existing purchases get `purchased_at` = `created_at` and members their
cumulative spend (the accumulating discount's level).
"""

from importlib import import_module

import django.db.models.deletion
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

REFUSE = """
CREATE OR REPLACE FUNCTION kopilka_refuse(message text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = message, ERRCODE = 'KP002';
END;
$$;
"""


def generic_commit(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS kopilka_purchase_commit(jsonb)")
        schema_editor.execute(REFUSE)


def old_function(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS kopilka_refuse(text)")
        previous = import_module("kopilka.pos.migrations.0002_purchase_commit_function")
        schema_editor.execute(previous.FUNCTION)


def backfill(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    Purchase = apps.get_model("pos", "Purchase")
    Member = apps.get_model("members", "Member")
    PurchaseReturn = apps.get_model("pos", "PurchaseReturn")
    Purchase.objects.filter(purchased_at__isnull=True).update(purchased_at=models.F("created_at"))
    spend: dict[int, int] = {}
    for member_id, amount in Purchase.objects.filter(member__isnull=False).values_list(
        "member_id", "amount"
    ):
        spend[member_id] = spend.get(member_id, 0) + amount
    for member_id, amount in PurchaseReturn.objects.filter(member_id__isnull=False).values_list(
        "member_id", "amount"
    ):
        spend[member_id] = spend.get(member_id, 0) - amount
    for member_id, total in spend.items():
        Member.objects.filter(pk=member_id).update(spend_total=total)


class Migration(migrations.Migration):
    dependencies = [
        ("pos", "0003_drop_redundant_indexes"),
        ("program", "0002_programversion"),
        ("members", "0003_member_spend_total_member_state_version"),
    ]

    operations = [
        migrations.AddField(
            model_name="purchase",
            name="discount",
            field=models.BigIntegerField(default=0, verbose_name="discount, kopecks"),
        ),
        migrations.AddField(
            model_name="purchase",
            name="program_version",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                help_text="the version that priced the receipt; empty: the built-in default",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="program.programversion",
                verbose_name="program version",
            ),
        ),
        migrations.AddField(
            model_name="purchase",
            name="purchased_at",
            field=models.DateTimeField(
                blank=True,
                help_text="the till's own time of the receipt",
                null=True,
                verbose_name="purchased",
            ),
        ),
        migrations.AddField(
            model_name="purchase",
            name="reasons",
            field=models.JSONField(blank=True, default=list, verbose_name="reasons"),
        ),
        migrations.AddField(
            model_name="purchaseline",
            name="discount",
            field=models.BigIntegerField(default=0, verbose_name="discount, kopecks"),
        ),
        migrations.AddField(
            model_name="purchaseline",
            name="reasons",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="reason codes with their figures",
                verbose_name="reasons",
            ),
        ),
        migrations.AddField(
            model_name="purchaseline",
            name="rules",
            field=models.JSONField(blank=True, default=list, verbose_name="rules"),
        ),
        migrations.AddField(
            model_name="returnline",
            name="discount",
            field=models.BigIntegerField(default=0, verbose_name="discount, kopecks"),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RunPython(generic_commit, old_function),
    ]
