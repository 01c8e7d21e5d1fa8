"""The owner's first visit in a real Chromium: the start page, the admin's sections, a member."""

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.ledger.services import points_adjust
from tests.conftest import Api, enroll
from tests.pos.test_returns import buy

PASSWORD = "Секрет-123-пароль"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def shoot(page: Any, name: str, directory: Path) -> int:
    """Desktop and 390 px screenshots of the page; returns the page's width on the phone."""
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(directory / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    width = int(page.evaluate("document.documentElement.scrollWidth"))
    page.screenshot(path=str(directory / f"{name}-390.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    return width


@pytest.mark.django_db(transaction=True)
def test_the_owner_signs_in_and_reads_a_member_in_russian(
    browser_page: Any, live_server: Any, api: Api, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("KOPILKA_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    # given an owner account and a member with points and a purchase
    owner = get_user_model().objects.create_superuser("owner", password=PASSWORD, email="")
    with clock.frozen_at(datetime(2026, 3, 10, 12, tzinfo=UTC)):
        member = enroll(name="Анна Смирнова")
        points_adjust(
            member_id=member.pk, points=100, reason="Подарок на открытие", actor=Actor.staff(owner)
        )
    buy(api, member.pk, ("COF1", "2", "250.00"), number="A-17")
    page = browser_page

    # the start page says what Kopilka is and leads to the admin; every file it loads is there
    failed: list[str] = []
    page.on(
        "response", lambda response: failed.append(response.url) if response.status >= 400 else None
    )
    page.goto(f"{live_server.url}/")
    assert page.locator("h1").inner_text() == "Копилка"
    assert page.get_by_role("link", name="Администрирование").is_visible()
    assert shoot(page, "start", shots) <= PHONE["width"], "no sideways scrolling on a phone"

    # when the owner signs in through the admin's form
    page.get_by_role("link", name="Администрирование").click()
    page.fill("#id_username", "owner")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    # then the sections are named in Russian, the internals in one read-only section
    sections = page.locator("#content-main caption a.section").all_text_contents()
    assert sections[:3] == ["Участники", "Магазины и продажи", "Программа лояльности"]
    assert "Учёт (только чтение)" in sections
    accounting = page.locator("#content-main .app-accounting th a").all_text_contents()
    assert {"Операции", "Проводки", "Журнал аудита", "Записи идемпотентности"} <= set(accounting)
    assert shoot(page, "admin-index", shots) <= PHONE["width"]

    # and the member's page shows the balance, the expiry and the operations with reasons
    page.locator("#content-main th").get_by_role("link", name="Участники", exact=True).click()
    page.get_by_role("link", name=member.phone).click()
    assert page.locator("h1").inner_text() == "Изменить участника"
    points = page.locator(".kopilka-points").inner_text()
    assert "125 баллов доступно" in points and "10 марта 2027" in points
    operations = page.locator(".kopilka-operations").inner_text()
    assert "Корректировка сотрудником: Подарок на открытие" in operations
    assert "A-17" in operations
    # on a phone the operations scroll inside their box, not the whole page
    assert shoot(page, "member", shots) <= PHONE["width"]
    page.set_viewport_size(PHONE)
    right, inner, content = page.locator(".kopilka-scroll").evaluate(
        "el => [el.getBoundingClientRect().right, el.clientWidth, el.scrollWidth]"
    )
    assert right <= PHONE["width"] and content > inner  # wider than the phone, scrolled in place
    page.set_viewport_size(DESKTOP)
    assert failed == [], failed


@pytest.mark.django_db(transaction=True)
def test_the_member_page_shows_the_tier_its_privileges_and_its_history(
    browser_page: Any, live_server: Any, api: Api, tmp_path: Path
) -> None:
    from kopilka.program.selectors import program_cache_clear
    from kopilka.program.services import program_version_create
    from tests.members.test_tiers import TIERS

    shots = Path(os.environ.get("KOPILKA_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    get_user_model().objects.create_superuser("owner", password=PASSWORD, email="")
    with clock.frozen_at(datetime(2026, 3, 10, 12, tzinfo=UTC)):
        program_version_create(actor=Actor.system("test"), document={"tiers": TIERS})
        program_cache_clear()
        member = enroll(name="Анна Смирнова")
    buy(api, member.pk, ("COF1", "5", "250.00"), number="T-1")  # 1,250 ₽: silver
    page = browser_page
    page.goto(f"{live_server.url}/admin/login/?next=/admin/members/member/{member.pk}/change/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"**/admin/members/member/{member.pk}/change/")
    tier = page.locator(".kopilka-tier").inner_text()
    assert "Серебро" in tier and "Кофе без очереди" in tier
    assert "До «Золото» осталось 1750.00 ₽." in tier
    assert "Покупки за последние 365 дн. — 1250.00 ₽: уровень «Серебро» (от 1000.00 ₽)." in tier
    assert shoot(page, "member-tier", shots) <= PHONE["width"]
