"""program_settings_update: the one way the program in force changes."""

import pytest
from django.core.exceptions import ValidationError

from kopilka.core.audit import Actor
from kopilka.core.models import AuditEntry
from kopilka.program.models import ProgramSettings
from kopilka.program.selectors import current_rules, rules_cache_clear
from kopilka.program.services import program_settings_update

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


def test_a_change_is_in_force_and_audited() -> None:
    program_settings_update(actor=SYSTEM, pending_days=7, expiry_days=90)
    rules_cache_clear()
    rules = current_rules()
    assert (rules.pending_days, rules.expiry_days, rules.earn_rate_bp) == (7, 90, 500)
    entry = AuditEntry.objects.get(action="program.update")
    assert entry.data["after"] == {"pending_days": 7, "expiry_days": 90}


@pytest.mark.parametrize(
    "values",
    [
        {"max_redeem_share_bp": 10_001},  # more than the whole receipt
        {"earn_rate_bp": 20_000},
        {"expiry_days": 0},  # points that expire the day they are earned
        {"pending_days": 366},
    ],
)
def test_values_the_program_forbids_are_refused_and_nothing_changes(values: dict) -> None:
    # given the program as it was set up
    program_settings_update(actor=SYSTEM, max_redeem_share_bp=3000, expiry_days=365)
    # when a value outside its bounds is sent
    with pytest.raises(ValidationError) as exc:
        program_settings_update(actor=SYSTEM, **values)
    # then the field is named, the stored program is unchanged and no change is audited
    assert set(exc.value.message_dict) == set(values)
    row = ProgramSettings.objects.get()
    assert (row.max_redeem_share_bp, row.earn_rate_bp, row.expiry_days, row.pending_days) == (
        3000,
        500,
        365,
        0,
    )
    assert AuditEntry.objects.filter(action="program.update").count() == 1
