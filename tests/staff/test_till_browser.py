"""The cashier screen in a real Chromium: a cashier signs in, "scans" the member's QR code (a
keyboard-wedge scanner types the token and presses Enter), reads the talking points, prices a
receipt, pays part with points and records it. axe-core on each screen; desktop and phone
screenshots."""

import os
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from kopilka.core import clock
from kopilka.members.card_token import card_token
from kopilka.pos.models import Purchase, Store
from kopilka.rewards.models import Reward
from kopilka.staff.models import StaffProfile
from tests.conftest import Api, accessibility_violations, enroll, points_move, program_set
from tests.members.test_admin_browser import PHONE, shoot

PASSWORD = "касса-пароль-42"


@pytest.mark.django_db(transaction=True)
def test_a_cashier_scans_says_prices_and_records(
    browser_page: Any, live_server: Any, api: Api, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("KOPILKA_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    program_set(pending_days=0)
    central = Store.objects.get(code="central")
    user = User.objects.create_user("olga", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="cashier"))
    StaffProfile.objects.create(user=user).stores.set([central])
    anna = enroll("+79161234567", name="Анна")
    points_move(anna.pk, earn=340)
    Reward.objects.create(
        code="cap", name="Капучино в подарок", kind=Reward.Kind.GIFT, points_price=250,
        cost=3000, created_at=clock.now(),
    )  # fmt: skip
    page = browser_page
    problems: dict[str, list[str]] = {}

    def look(name: str) -> None:
        problems[name] = accessibility_violations(page)
        assert shoot(page, name, shots) <= PHONE["width"], f"{name} scrolls sideways at 390 px"

    page.goto(f"{live_server.url}/till/")
    page.wait_for_url("**/admin/login/**")
    page.fill("#id_username", "olga")
    page.fill("#id_password", PASSWORD)
    page.locator("input[type=submit], button[type=submit]").first.click()
    page.wait_for_url("**/till/")
    look("till-find")
    page.get_by_role("link", name="Зарегистрировать участника").click()
    page.wait_for_url("**/till/join/")
    look("till-join")
    page.goto(f"{live_server.url}/till/")
    expect(page.locator("#id_q")).to_be_focused()  # a wedge scanner types where the focus is
    page.keyboard.type(card_token(anna.pk))
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/till/members/{anna.pk}/")
    say = page.locator(".say").inner_text()
    assert "Анна: 340 баллов — это 340 ₽ на этот чек." in say.replace("\u00a0", " ")
    assert "Можно взять «Капучино в подарок» за 250 баллов." in say
    look("till-member")
    page.fill("#id_total", "1000")
    page.get_by_label("столько:").check()
    page.fill("#id_points", "100")
    page.get_by_role("button", name="Рассчитать").click()
    page.wait_for_selector("text=Что даёт этот чек")
    assert re.search(r"К оплате\W*900", page.locator("main").inner_text().replace("\u00a0", " "))
    look("till-quote")
    page.get_by_role("button", name="Провести чек").click()
    page.wait_for_selector("text=проведён")
    look("till-done")
    purchase = Purchase.objects.get()
    assert purchase.member_id == anna.pk and purchase.redeem_points == 100
    assert "С картой" in page.locator(".today").inner_text()
    assert {name: found for name, found in problems.items() if found} == {}


@pytest.mark.django_db(transaction=True)
def test_the_manager_reads_the_leaderboard(
    browser_page: Any, live_server: Any, api: Api, tmp_path: Path
) -> None:
    from django.conf import settings
    from django.test import Client

    shots = Path(os.environ.get("KOPILKA_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    owner = User.objects.create_superuser("owner", password=PASSWORD, email="")
    enroll("+79161234567", name="Анна")
    client = Client()
    client.force_login(owner)
    page = browser_page
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page.goto(f"{live_server.url}/backoffice/staff/")
    assert "Магазины и сотрудники" in page.locator("h1").inner_text()
    assert accessibility_violations(page) == []
    assert shoot(page, "staff-results", shots) <= PHONE["width"]


@pytest.mark.django_db(transaction=True)
def test_five_wrong_passwords_lock_a_cashier_out(browser_page: Any, live_server: Any) -> None:
    user = User.objects.create_user("olga", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="cashier"))
    page = browser_page
    for attempt in range(5):
        page.goto(f"{live_server.url}/till/")
        page.wait_for_url("**/admin/login/**")
        page.fill("#id_username", "olga")
        page.fill("#id_password", f"неверный-{attempt}")
        page.locator("input[type=submit], button[type=submit]").first.click()
        page.wait_for_load_state()
    expect(page.locator("body")).to_contain_text("Вход временно закрыт")
    page.goto(f"{live_server.url}/till/")  # now the right password is refused too
    page.fill("#id_username", "olga")
    page.fill("#id_password", PASSWORD)
    page.locator("input[type=submit], button[type=submit]").first.click()
    expect(page.locator("body")).to_contain_text("Вход временно закрыт")
    page.goto(f"{live_server.url}/till/")
    page.wait_for_url("**/admin/login/**")  # not signed in
