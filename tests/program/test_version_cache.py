"""A new program version is in force in the process that created it as soon as its
transaction commits, however long the cache of versions lives: the service clears the cache on
commit (other processes follow within KOPILKA_RULES_CACHE_SECONDS)."""

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import override_settings

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.program.selectors import program_in_force
from kopilka.program.services import program_version_create

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
SYSTEM = Actor.system("test")


@override_settings(KOPILKA_RULES_CACHE_SECONDS=3600)
def test_a_new_version_is_in_force_here_once_it_commits(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with clock.frozen_at(NOW):
        # given a version in force, read once: the cache holds the list for an hour
        with django_capture_on_commit_callbacks(execute=True):
            first = program_version_create(actor=SYSTEM, document={"earn_percent": "5"})
        assert program_in_force().version == first.pk
        # when another version is created and its transaction commits
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            second = program_version_create(actor=SYSTEM, document={"earn_percent": "7"})
            # (not before: until the commit, other requests must keep the version in force)
            assert program_in_force().version == first.pk
        # then this process prices by it at once, without waiting for the hour
        assert len(callbacks) == 1
        assert program_in_force().version == second.pk
        assert program_in_force().earn_percent == 7
