"""program_version_create: the one way the program changes: a new version, never an edit."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.core.models import AuditEntry
from kopilka.program.engine.document import DEFAULT_DOCUMENT, DocumentError
from kopilka.program.models import ProgramVersion
from kopilka.program.selectors import program_in_force
from kopilka.program.services import EffectiveInPast, program_version_create

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def versions() -> int:
    return ProgramVersion.objects.count()


def test_a_version_stores_the_canonical_document_and_is_audited(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a document written loosely: keys missing, numbers spelt two ways
    loose = {"earn_percent": "7.50", "name": "Кофейня", "pending_days": 3}
    with clock.frozen_at(NOW), django_capture_on_commit_callbacks(execute=True):
        version = program_version_create(actor=SYSTEM, document=loose, note="осень")
    # then the stored document is the canonical one, every key in the documented order
    assert version.document == {
        **DEFAULT_DOCUMENT,
        "name": "Кофейня",
        "earn_percent": "7.5",
        "pending_days": 3,
    }
    assert list(version.document) == list(DEFAULT_DOCUMENT)
    assert (version.effective_from, version.created_at) == (NOW, NOW)
    assert (version.created_by, version.note) == ("system:test", "осень")
    # audited with the actor, and in force at once in this process
    entry = AuditEntry.objects.get(action="program.version")
    assert (entry.actor_label, entry.target_type, entry.target_id) == (
        "system:test",
        "program_version",
        version.pk,
    )
    assert entry.data == {
        "effective_from": NOW.isoformat(),
        "document": version.document,
        "note": "осень",
    }
    with clock.frozen_at(NOW):
        program = program_in_force()
    assert (program.version, program.earn_percent, program.pending_days) == (version.pk, 7.5, 3)


def test_an_invalid_document_writes_nothing() -> None:
    before = versions()
    with pytest.raises(DocumentError) as caught:
        program_version_create(actor=SYSTEM, document={"earn_percent": "500", "colour": 1})
    assert [path for path, _m in caught.value.problems] == ["colour", "earn_percent"]
    assert versions() == before and not AuditEntry.objects.exists()


@pytest.mark.parametrize(
    ("offset", "allowed"),
    [
        (timedelta(seconds=-59), True),  # a click that took a while
        (timedelta(0), True),
        (timedelta(days=30), True),
        (timedelta(seconds=-61), False),  # would re-price purchases already made
        (timedelta(days=-1), False),
    ],
)
def test_a_version_cannot_take_effect_in_the_past(offset: timedelta, allowed: bool) -> None:
    before = versions()
    with clock.frozen_at(NOW):
        if allowed:
            version = program_version_create(actor=SYSTEM, document={}, effective_from=NOW + offset)
            assert version.effective_from == NOW + offset
            return
        with pytest.raises(EffectiveInPast) as caught:
            program_version_create(actor=SYSTEM, document={}, effective_from=NOW + offset)
    assert caught.value.code == "effective_in_past" and caught.value.status == 422
    assert "effective_from" in caught.value.describe()[1]
    assert versions() == before and not AuditEntry.objects.exists()


def test_a_naive_time_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        program_version_create(actor=SYSTEM, document={}, effective_from=datetime(2030, 1, 1))


def test_versions_are_only_added(django_capture_on_commit_callbacks: Any) -> None:
    with clock.frozen_at(NOW), django_capture_on_commit_callbacks(execute=True):
        first = program_version_create(actor=SYSTEM, document={"earn_percent": "5"})
        second = program_version_create(actor=SYSTEM, document={"earn_percent": "6"})
    first.refresh_from_db()
    assert first.document["earn_percent"] == "5" and second.document["earn_percent"] == "6"
    # the same effective time: the later version is in force
    assert first.effective_from == second.effective_from
    with clock.frozen_at(NOW):
        assert program_in_force().version == second.pk
