"""The training quiz: ten questions from the program in force, every right answer its figure (in
the words of the cheat-sheet), taken at the cashier screen once per form, its scores on the
store manager's results page for the people of their stores only."""

import re
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.utils import translation

from kopilka.core import clock
from kopilka.core.models import AuditEntry
from kopilka.materials.cheatsheet import common_answers
from kopilka.materials.models import QuizAttempt
from kopilka.materials.quiz import Question, quiz_questions
from kopilka.pos.models import Store
from kopilka.program.engine import Program
from kopilka.program.selectors import program_in_force
from kopilka.rewards.models import Reward
from tests.conftest import Api, program_set
from tests.staff.test_till import cashier as till_client
from tests.staff.test_till import form_key

pytestmark = pytest.mark.django_db

TIERS = [
    {"code": "silver", "name": "Серебро", "qualify_spend": "1000.00", "privileges": ["Кофе без очереди"]},
    {"code": "gold", "name": "Золото", "qualify_spend": "3000.00", "privileges": ["Десерт"]},
]  # fmt: skip
FULL = {
    "earn_percent": "7",
    "point_value": "1.00",
    "redeem_max_percent": "40",
    "pending_days": 14,
    "expiry_days": 180,
    "tiers": TIERS,
    "bonuses": {"welcome": {"points": 150}},
}


def cashier(*stores: Store, role: str = "cashier", name: str = "olga") -> Client:
    """A till's client in English: the quiz's own words are not in the Russian catalogue yet."""
    client = till_client(*stores, role=role, name=name)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def central(api: Api) -> Store:
    return Store.objects.get(code="central")


def reward() -> Reward:
    return Reward.objects.create(
        code="cap", name="Капучино", kind=Reward.Kind.GIFT, points_price=250, cost=3000,
        created_at=clock.now(),
    )  # fmt: skip


def questions(language: str = "ru") -> dict[str, Question]:
    with translation.override(language):
        return {q.key: q for q in quiz_questions(program_in_force(), list(Reward.objects.all()))}


def test_ten_questions_each_right_answer_the_programs_figure() -> None:
    program_set(**FULL)
    reward()
    asked = questions()
    assert len(asked) == 10
    assert list(asked) == [
        "earn", "point_value", "redeem_cap", "points_life", "tobacco", "reward", "tier",
        "welcome", "returns", "stop",
    ]  # fmt: skip
    assert asked["earn"].right == "7 % баллами с каждой покупки"
    assert asked["point_value"].right.startswith("1 балл = 1\xa0₽")
    assert asked["redeem_cap"].right == "Баллами можно оплатить до 40 % чека."
    assert "14 дней" in asked["points_life"].right and "180 дней" in asked["points_life"].right
    assert asked["reward"].right == "250 баллов" and "Капучино" in asked["reward"].text
    assert asked["tier"].right == "1\xa0000\xa0₽" and "Серебро" in asked["tier"].text
    assert asked["welcome"].right == "150 баллов"
    with translation.override("ru"):
        cheatsheet = common_answers(program_in_force())
    for key in ("tobacco", "returns", "stop"):  # the cheat-sheet's own answers
        assert asked[key].right == cheatsheet[key][1]
    for q in asked.values():
        assert 3 <= len(q.choices) <= 4, q
        assert len(set(q.choices)) == len(q.choices), q  # unique choices
        assert q.choices.count(q.right) == 1 and q.choices[q.right_index] == q.right


def test_changing_the_program_changes_the_answers() -> None:
    program_set(**FULL)
    before = questions()
    program_set(**{**FULL, "earn_percent": "3", "expiry_days": 90, "redeem_max_percent": "0"})
    after = questions()
    assert after["earn"].right == "3 % баллами с каждой покупки" != before["earn"].right
    assert "90 дней" in after["points_life"].right
    assert after["redeem_cap"].right == "Баллами нельзя оплачивать покупки."
    assert before["redeem_cap"].right != after["redeem_cap"].right


def test_without_rewards_tiers_or_bonuses_ten_questions_still_a_discount_card_eight() -> None:
    asked = {q.key: q for q in quiz_questions(Program(), [])}
    assert len(asked) == 10 and {"delete", "join", "lost_phone"} < set(asked)
    assert asked["earn"].right == "5 % баллами с каждой покупки"  # the default program
    with translation.override("en"):
        card = quiz_questions(Program(mode="discount", discount_percent=Decimal(5)), [])
    assert [q.key for q in card][:2] == ["discount", "tobacco"] and len(card) == 8
    assert card[0].right == "5 % off every purchase"  # and nothing about points it does not have


def test_the_choices_keep_their_order_for_a_program_version() -> None:
    program_set(**FULL)
    assert [q.choices for q in questions().values()] == [q.choices for q in questions().values()]
    positions = {q.right_index for q in questions().values()}
    assert len(positions) > 1  # the right answer is not always in the same place


def answers(page: str, right: dict[str, Question], *, wrong: str = "") -> dict[str, Any]:
    """The form as a cashier fills it: the right choice of each question but `wrong`'s."""
    form: dict[str, Any] = {
        "key": form_key(page),
        "version": re.search(r'name="version" value="(\d+)"', page).group(1),  # type: ignore[union-attr]
    }
    for key, q in right.items():
        form[key] = str((q.right_index + 1) % len(q.choices) if key == wrong else q.right_index)
    return form


def test_a_cashier_takes_the_quiz_once_per_form(central: Store) -> None:
    program_set(**FULL)
    reward()
    client = cashier(central)
    assert 'href="/till/quiz/"' in client.get("/till/?store=central").content.decode()
    page = client.get("/till/quiz/")
    text = page.content.decode()
    assert page.status_code == 200 and "Training quiz" in text
    assert text.count('type="radio"') >= 30 and "7 % back in points on every purchase" in text
    form = answers(text, questions())
    done = client.post("/till/quiz/", form)
    again = client.post("/till/quiz/", form)  # a double tap
    assert done.status_code == again.status_code == 200
    assert "10 of 10 right" in done.content.decode() and "10 of 10 right" in again.content.decode()
    attempt = QuizAttempt.objects.get()
    assert (attempt.score, attempt.total, attempt.store) == (10, 10, central)
    assert attempt.program_version == program_in_force().version
    entry = AuditEntry.objects.get(action="quiz.taken")
    assert entry.actor_user == attempt.user and entry.target_id == attempt.pk


def test_a_wrong_answer_is_shown_with_the_right_one(central: Store) -> None:
    program_set(**FULL)
    client = cashier(central)
    right = questions("en")
    page = client.get("/till/quiz/").content.decode()
    text = client.post("/till/quiz/", answers(page, right, wrong="earn")).content.decode()
    assert "9 of 10 right" in text and "7 % back in points on every purchase" in text
    assert QuizAttempt.objects.get().answers[0] == {
        "key": "earn", "question": right["earn"].text, "correct": False,
        "chosen": right["earn"].choices[(right["earn"].right_index + 1) % 4],
        "right": right["earn"].right,
    }  # fmt: skip


def test_unanswered_questions_are_asked_again_and_record_nothing(central: Store) -> None:
    client = cashier(central)
    page = client.get("/till/quiz/").content.decode()
    missing = client.post("/till/quiz/", {"key": form_key(page), "version": "0", "earn": "0"})
    assert missing.status_code == 400 and "Choose an answer." in missing.content.decode()
    assert form_key(missing.content.decode()) == form_key(page)  # still the same form
    stale = client.post("/till/quiz/", {**answers(page, questions()), "key": "x"})
    assert stale.status_code == 400 and "The page is out of date" in stale.content.decode()
    assert not QuizAttempt.objects.exists()


def test_without_the_till_permission_the_quiz_is_refused(central: Store) -> None:
    nobody = User.objects.create_user("ivan", is_staff=True)
    client = Client()
    client.force_login(nobody)
    assert client.get("/till/quiz/").status_code == 403
    assert client.post("/till/quiz/", {}).status_code == 403
    assert Client().get("/till/quiz/").url.startswith("/admin/login/")


def take(client: Client, *, wrong: str = "") -> None:
    page = client.get("/till/quiz/").content.decode()
    client.post("/till/quiz/", answers(page, questions(), wrong=wrong))


def test_the_store_manager_sees_the_scores_of_their_stores_people_only(central: Store) -> None:
    program_set(**FULL)
    other = Store.objects.create(code="arbat", name="Арбат", time_zone="Europe/Moscow")
    olga = cashier(central, name="olga")
    take(olga, wrong="earn")
    take(olga)
    take(olga, wrong="tier")
    take(cashier(other, name="boris"))
    manager = cashier(central, role="store_manager", name="maria")
    page = manager.get("/backoffice/staff/").content.decode()
    assert "Training quiz" in page
    row = re.search(r'<th scope="row">olga</th><td>(.*?)</td><td>(.*?)</td><td>(\d+)</td>', page)
    assert row and row.groups() == ("9/10", "10/10", "3"), page
    assert ">boris<" not in page
    exported = manager.get("/backoffice/staff/", {"format": "csv"}).content.decode()
    assert "quiz,olga," in exported and "0.9,1.0,3" in exported and "boris" not in exported
