from django.db import transaction

from kopilka.core.audit import Actor, audit_record
from kopilka.program.models import ProgramSettings
from kopilka.program.selectors import rules_cache_clear


@transaction.atomic
def program_settings_update(*, actor: Actor, **values: int) -> ProgramSettings:
    """Change the program in force; other workers pick it up within KOPILKA_RULES_CACHE_SECONDS."""
    row = ProgramSettings.objects.select_for_update().order_by("pk").first() or ProgramSettings()
    before = {name: getattr(row, name) for name in values}
    for name, value in values.items():
        setattr(row, name, value)
    row.full_clean()
    row.save()
    transaction.on_commit(rules_cache_clear)
    audit_record(
        actor=actor,
        action="program.update",
        target_type="program",
        target_id=row.pk,
        data={"before": before, "after": values},
    )
    return row
