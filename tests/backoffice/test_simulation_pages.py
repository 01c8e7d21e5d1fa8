"""The what-if pages in a real Chromium: a draft started from the program in force, its
progress, and the comparison, on a desktop and at 390 px."""

import os
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from kopilka.core import clock
from kopilka.program.models import Simulation
from tests.conftest import staff_user
from tests.demo.test_load_demo import NOW, load
from tests.members.test_admin_browser import PASSWORD, PHONE, shoot


@pytest.mark.django_db
def test_a_bad_draft_gets_a_form_message_and_starts_nothing() -> None:
    staff = Client()
    staff.force_login(staff_user("boss"))
    page = staff.get("/backoffice/program/simulations/")
    assert (
        page.status_code == 200
        and "&quot;earn_percent&quot;: &quot;5&quot;" in page.content.decode()
    )
    for draft, message in (
        ("{", "Не JSON"),
        ("[]", "объектом JSON"),
        ('{"earn_percent": "-1"}', "earn_percent"),
    ):
        answer = staff.post("/backoffice/program/simulations/", {"draft": draft})
        assert answer.status_code == 200 and message in answer.content.decode()
    assert not Simulation.objects.exists()
    assert Client().get("/backoffice/program/simulations/").status_code == 302  # to the login


@pytest.mark.django_db(transaction=True)
def test_staff_replay_a_draft_and_read_the_comparison(
    browser_page: Any, live_server: Any, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("KOPILKA_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    load()
    get_user_model().objects.create_superuser("owner", password=PASSWORD, email="")
    page = browser_page
    page.goto(f"{live_server.url}/admin/login/?next=/backoffice/program/simulations/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/backoffice/program/simulations/")
    assert shoot(page, "simulations", shots) <= PHONE["width"]
    page.fill("#id_draft", '{"earn_percent": "7"}')
    page.fill("#id_since", "2025-01-01")
    page.click("button[type=submit]")
    page.wait_for_url("**/backoffice/program/simulations/*/")
    assert "%" in page.locator("main").inner_text()  # queued: the progress bar
    with clock.frozen_at(NOW):
        call_command("db_worker", batch=True, no_startup_delay=True, verbosity=0)
    page.reload()
    text = page.locator("main").inner_text()
    assert Simulation.objects.get().status == "ready", Simulation.objects.get().error
    assert "Начислено баллов" in text and "Допущения" in text
    titles = page.locator("main svg title").all_text_contents()
    assert "Стоимость программы по месяцам: как было и черновик, ₽" in titles
    assert "Участники по изменению их баллов при черновике" in titles
    assert shoot(page, "simulation", shots) <= PHONE["width"]
