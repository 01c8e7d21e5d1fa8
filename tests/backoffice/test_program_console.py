"""The marketer console's program page: the program as forms, the preview on example receipts,
saving as a new version, and who may open it."""

import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.pos.models import Store
from kopilka.program.engine.document import program_to_document
from kopilka.program.models import ProgramVersion, Simulation
from kopilka.program.selectors import program_in_force
from kopilka.program.services import program_version_create
from tests.conftest import staff_user

URL = "/backoffice/program/"
NBSP = "\u00a0"


def _form(page: Any) -> dict[str, Any]:
    """The page's form as the browser would send it unchanged."""
    form = page.context["draft"]
    data: dict[str, Any] = {"key": page.context["key"]}
    for part in (form.main, *form.formsets.values()):
        for bound in [part] if part is form.main else [part.management_form, *part.forms]:
            for field in bound:
                value = field.value()
                if value is None or value is False:
                    continue
                data[field.html_name] = "on" if value is True else value
    return data


@pytest.fixture
def marketer() -> Client:
    Store.objects.create(code="central", name="Центральная")
    client = Client()
    client.force_login(staff_user("marketer"))
    return client


@pytest.mark.django_db
def test_the_page_shows_the_program_in_force_and_its_examples(marketer: Client) -> None:
    page = marketer.get(URL)
    text = page.content.decode()
    assert page.status_code == 200
    assert f"Чек на 1{NBSP}000{NBSP}₽" in text and "50 баллов" in text
    assert 'value="tobacco"' in text


@pytest.mark.django_db
def test_a_changed_rate_shows_in_the_preview_and_saves_as_a_version(
    marketer: Client, django_capture_on_commit_callbacks: Any
) -> None:
    versions = ProgramVersion.objects.count()
    data = _form(marketer.get(URL))
    data["earn_percent"] = "7"
    preview = marketer.post(f"{URL}preview/", data)
    shown = preview.content.decode()
    assert preview.status_code == 200
    assert "70 баллов" in shown and "сейчас: 50 баллов" in shown
    assert ProgramVersion.objects.count() == versions
    with django_capture_on_commit_callbacks(execute=True):
        saved = marketer.post(URL, {**data, "action": "save", "note": "7 %"})
    assert saved.status_code == 302
    again = marketer.post(URL, {**data, "action": "save", "note": "7 %"})  # a double click
    assert again.status_code == 302
    assert ProgramVersion.objects.count() == versions + 1
    assert program_in_force().earn_percent == 7


@pytest.mark.django_db
def test_a_bad_figure_is_shown_under_its_field_and_saves_nothing(marketer: Client) -> None:
    versions = ProgramVersion.objects.count()
    data = _form(marketer.get(URL))
    data["earn_percent"] = "150"
    page = marketer.post(URL, {**data, "action": "save"})
    assert page.status_code == 400
    assert page.context["draft"].main.errors["earn_percent"]
    assert ProgramVersion.objects.count() == versions


@pytest.mark.django_db
def test_an_offer_added_in_the_form_prices_its_own_example(marketer: Client) -> None:
    data = _form(marketer.get(URL))
    data |= {
        "rules-0-code": "coffee-morning",
        "rules-0-name": "Утренний кофе ×2",
        "rules-0-effect": "earn_multiplier",
        "rules-0-value": "2",
        "rules-0-priority": "10",
        "rules-0-combine": "stack",
        "rules-0-categories": "coffee",
        "rules-0-weekdays": ["1"],
        "rules-0-time_from": "07:00",
        "rules-0-time_to": "11:00",
    }
    page = marketer.post(URL, {**data, "action": "preview"})
    assert page.status_code == 200, page.context["problems"]
    text = page.content.decode()
    assert f"«Утренний кофе ×2»: coffee, Пн 07:00, 1{NBSP}000{NBSP}₽" in text
    assert "100 баллов" in text
    assert marketer.post(URL, {**data, "action": "cost"}).status_code == 302
    assert Simulation.objects.get().draft["rules"][0]["when"]["weekdays"] == [1]


@pytest.mark.django_db
def test_only_marketers_and_owners_open_it() -> None:
    cashier = Client()
    cashier.force_login(staff_user("anna", role="cashier"))
    refused = cashier.get(URL)
    assert refused.status_code == 403
    said = refused.content.decode()
    assert "Эта страница для: Владелец, Маркетолог." in said and "Ваши роли: Кассир." in said
    assert Client().get(URL).status_code == 302  # to the login


@pytest.mark.django_db
def test_the_navigation_shows_each_role_its_own_sections(marketer: Client) -> None:
    links = {
        "marketer": marketer.get("/backoffice/profile/").content.decode(),
        "manager": _signed_in("store_manager").get("/backoffice/profile/").content.decode(),
    }
    assert 'href="/backoffice/program/"' in links["marketer"]
    assert 'href="/backoffice/staff/"' not in links["marketer"]
    assert 'href="/backoffice/program/"' not in links["manager"]
    assert 'href="/backoffice/staff/"' in links["manager"]
    assert 'href="/backoffice/audit/"' not in links["marketer"] + links["manager"]


def _signed_in(role: str) -> Client:
    client = Client()
    client.force_login(staff_user(f"someone-{role}", role=role))
    return client


@pytest.mark.django_db
def test_a_program_of_every_rule_kind_round_trips_through_the_forms(
    marketer: Client, django_capture_on_commit_callbacks: Any
) -> None:
    """Opened and saved unchanged, a program with every condition, effect, combination and
    limit (bench/rulegen.py's 20 rules, one naming a store not set up), tiers, levels and
    bonuses comes back as the same document."""
    sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))
    from rulegen import rules_document

    document = rules_document(20, at=clock.now(), store="central")
    document |= {
        "tiers": [
            {"code": "silver", "name": "Серебро", "qualify_spend": "5000.00",
             "earn_multiplier": "1.5", "discount_percent": "0", "privileges": ["Кофе без очереди"]},
        ],
        "bonuses": {"welcome": {"points": 100}, "birthday": {"points": 200, "days_after": 3}},
        "discount_levels": [{"from_spend": "0.00", "percent": "3"}],
    }  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        program_version_create(actor=Actor.system("test"), document=document)
    before = program_to_document(program_in_force())
    data = _form(marketer.get(URL))
    with django_capture_on_commit_callbacks(execute=True):
        saved = marketer.post(URL, {**data, "action": "save"})
    assert saved.status_code == 302, saved.context["problems"]
    assert program_to_document(program_in_force()) == before
