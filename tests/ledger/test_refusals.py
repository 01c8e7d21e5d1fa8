"""One refusal for too few points: the engine's, raised by the ledger too, worded for a person."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from kopilka.core.audit import Actor
from kopilka.ledger import services as ledger
from kopilka.program import engine
from tests.conftest import enroll

pytestmark = pytest.mark.django_db


def test_the_ledger_and_the_engine_refuse_with_one_class() -> None:
    assert ledger.InsufficientPoints is engine.InsufficientPoints


def test_taking_more_than_the_member_has_is_worded_in_the_readers_language() -> None:
    # given a member with no points and a manager
    member = enroll()
    manager = Actor.staff(get_user_model().objects.create_user("boss", password="x", is_staff=True))
    # when the manager takes 5 points away
    with pytest.raises(ledger.InsufficientPoints) as refusal:
        ledger.points_adjust(member_id=member.pk, points=-5, reason="ошибка", actor=manager)
    # then the refusal carries the figures and reads as a sentence in Russian and English
    assert refusal.value.params == {"available": 0, "requested": 5}
    with translation.override("ru"):
        assert refusal.value.message == "Недостаточно баллов: доступно 0, запрошено 5."
    with translation.override("en"):
        assert refusal.value.message == "Not enough points: 0 available, 5 asked."
    assert refusal.value.body()["error"]["code"] == "insufficient_points"


def test_the_adjust_command_prints_the_worded_refusal() -> None:
    member = enroll()
    get_user_model().objects.create_user("anna", password="x", is_staff=True)
    with translation.override("en"), pytest.raises(CommandError, match="0 available, 7 asked"):
        call_command(
            "adjust_points", "--member", str(member.pk), "--points", "-7",
            "--reason", "test", "--staff", "anna",
        )  # fmt: skip
