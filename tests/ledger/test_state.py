"""Every input of the engine about a member has a declared source, so the one-statement commit's
guard (state columns + `state_version`) covers all of them."""

from dataclasses import fields

from kopilka.ledger.state import STATE_COLUMNS, STATE_SOURCES
from kopilka.members.models import Member
from kopilka.program.engine import MemberState


def test_every_member_state_field_has_one_source() -> None:
    # a field added to MemberState without a source here would be read by the engine but not
    # checked by the guard: the fast path could commit a quote made on a stale value
    assert {f.name for f in fields(MemberState)} == set(STATE_SOURCES)


def test_state_columns_are_member_columns() -> None:
    columns = {f.column for f in Member._meta.concrete_fields}
    assert set(STATE_COLUMNS.values()) <= columns
    assert "state_version" in columns
