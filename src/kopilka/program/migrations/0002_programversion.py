"""The program becomes versioned documents: today's settings row is version 1.

The document is built here from the row's four numbers, not with the engine's code, so this
migration means the same thing whatever `program.engine.document` becomes later.
"""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import migrations, models

SINCE = datetime(2000, 1, 1, tzinfo=UTC)
LAW = {"nicotine": ["earn", "discount", "redeem"], "tobacco": ["earn", "discount", "redeem"]}


def _percent(bp: int) -> str:
    return format((Decimal(bp) / 100).normalize(), "f")


def _document(earn_bp: int, redeem_bp: int, pending_days: int, expiry_days: int) -> dict[str, Any]:
    return {
        "mode": "points",
        "name": "Копилка",
        "point_value": "1.00",
        "earn_percent": _percent(earn_bp),
        "redeem_max_percent": _percent(redeem_bp),
        "pending_days": pending_days,
        "expiry_days": expiry_days,
        "discount_percent": "0",
        "discount_levels": [],
        "excluded_categories": LAW,
        "rules": [],
    }


def settings_to_version(apps: Any, schema_editor: Any) -> None:
    settings_model = apps.get_model("program", "ProgramSettings")
    version_model = apps.get_model("program", "ProgramVersion")
    row = settings_model.objects.using(schema_editor.connection.alias).order_by("pk").first()
    if row is None:
        document = _document(500, 3000, 0, 365)
        note = "the default program"
    else:
        document = _document(
            row.earn_rate_bp, row.max_redeem_share_bp, row.pending_days, row.expiry_days
        )
        note = "from the program settings"
    version_model.objects.using(schema_editor.connection.alias).create(
        document=document,
        effective_from=SINCE,
        created_at=datetime.now(UTC),
        created_by="system:migration",
        note=note,
    )


def version_to_settings(apps: Any, schema_editor: Any) -> None:
    settings_model = apps.get_model("program", "ProgramSettings")
    version_model = apps.get_model("program", "ProgramVersion")
    alias = schema_editor.connection.alias
    latest = version_model.objects.using(alias).order_by("-effective_from", "-pk").first()
    if latest is None or latest.document.get("mode", "points") != "points":
        return
    document = latest.document
    settings_model.objects.using(alias).create(
        earn_rate_bp=int(Decimal(document.get("earn_percent", "5")) * 100),
        max_redeem_share_bp=int(Decimal(document.get("redeem_max_percent", "30")) * 100),
        pending_days=document.get("pending_days", 0),
        expiry_days=document.get("expiry_days", 365),
    )


class Migration(migrations.Migration):
    dependencies = [("program", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="ProgramVersion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("document", models.JSONField(verbose_name="document")),
                (
                    "effective_from",
                    models.DateTimeField(db_index=True, verbose_name="in force from"),
                ),
                ("created_at", models.DateTimeField(verbose_name="created")),
                ("created_by", models.CharField(max_length=200, verbose_name="actor")),
                (
                    "note",
                    models.CharField(blank=True, default="", max_length=500, verbose_name="note"),
                ),
            ],
            options={
                "verbose_name": "program version",
                "verbose_name_plural": "program versions",
                "ordering": ["-effective_from", "-id"],
            },
        ),
        migrations.RunPython(settings_to_version, version_to_settings),
        migrations.DeleteModel(name="ProgramSettings"),
    ]
