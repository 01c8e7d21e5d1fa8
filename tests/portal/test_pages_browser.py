"""The member's pages the whole-way test does not pass through, in a real Chromium: the password
login and the password page, the email link's page, the card with the Apple Wallet button, and
the pages in English after the switch. axe-core on each; desktop and phone screenshots."""

import os
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.conftest import accessibility_violations, enroll
from tests.members.test_admin_browser import PHONE, shoot
from tests.portal.test_pages import logged_in
from tests.portal.test_wallet import signing

__all__ = ["signing"]


@pytest.mark.django_db(transaction=True)
def test_the_other_pages_read_well_in_both_languages(
    browser_page: Any, live_server: Any, signing: Path, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("KOPILKA_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    page = browser_page
    problems: dict[str, list[str]] = {}

    def look(name: str) -> None:
        problems[name] = accessibility_violations(page)
        assert shoot(page, name, shots) <= PHONE["width"], f"{name} scrolls sideways at 390 px"

    page.goto(f"{live_server.url}/login/password/")
    page.fill("#id_phone", "+79161234567")
    page.fill("#id_password", "wrong password")
    page.get_by_role("button", name="Войти").click()
    assert "Неверный телефон или пароль." in page.locator(".error").inner_text()
    look("portal-login-password")
    page.goto(f"{live_server.url}/me/email/forged/")
    assert "Ссылка не работает" in page.locator("main").inner_text()
    look("portal-email-link")

    member = enroll("+79161234567", name="Анна", email="anna@example.ru")
    session = logged_in(member).cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}/me/password/")
    page.fill("#id_password", "кофе-с-корицей-42")
    page.fill("#id_again", "кофе-с-корицей-42")
    page.get_by_role("button", name="Задать пароль").click()
    assert "Пароль задан." in page.locator("main").inner_text()
    look("portal-password")
    page.goto(f"{live_server.url}/me/card/")
    assert page.get_by_role("link", name="Добавить в Apple Wallet").is_visible()
    look("portal-card-wallet")
    page.goto(f"{live_server.url}/me/profile/")
    assert "anna@example.ru ещё не подтверждена" in page.locator("main").inner_text()

    page.get_by_role("button", name="English").click()
    page.wait_for_load_state("networkidle")
    text = page.locator("main").inner_text()
    assert "Profile" in text and "Language of messages and pages" in text, text
    assert page.locator("#id_language").input_value() == "en", "the switch is the member's too"
    look("portal-profile-en")
    page.goto(f"{live_server.url}/me/")
    assert "Hello, Анна!" in page.locator("main").inner_text()
    look("portal-home-en")
    page.locator("form.logout button").click()
    page.wait_for_url("**/login/")
    page.goto(f"{live_server.url}/join/")
    assert "Join the program" in page.locator("main").inner_text()
    look("portal-join-en")
    assert {name: found for name, found in problems.items() if found} == {}
