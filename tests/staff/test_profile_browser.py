"""The profile page in a real Chromium: a store manager creates a personal API token, reads its
key once, and the key works on the staff API; axe-core finds nothing serious; the page fits a
phone; desktop and phone screenshots."""

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.pos.models import Store
from kopilka.staff.models import StaffProfile, StaffToken
from kopilka.staff.tokens import staff_token_create, staff_token_revoke
from tests.conftest import accessibility_violations, staff_user
from tests.members.test_admin_browser import DESKTOP, PHONE


@pytest.mark.django_db(transaction=True)
def test_a_manager_makes_a_token_on_the_profile_page(
    browser_page: Any, live_server: Any, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("KOPILKA_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    maria = staff_user("maria", role="store_manager", first_name="Мария", last_name="Иванова")
    stores = [
        Store.objects.create(code="central", name="Центральный"),
        Store.objects.create(code="arbat", name="Арбат"),
    ]
    StaffProfile.objects.create(user=maria).stores.set(stores)
    used = staff_token_create(user=maria, name="Отчёт по понедельникам", actor=Actor.staff(maria))
    StaffToken.objects.filter(pk=used.token.pk).update(
        created_at=clock.now() - timedelta(days=40), last_used_at=clock.now() - timedelta(hours=3)
    )
    old = staff_token_create(user=maria, name="old laptop", actor=Actor.staff(maria))
    staff_token_revoke(token_id=old.token.pk, user=maria, actor=Actor.staff(maria))
    client = Client()
    client.force_login(maria)
    page = browser_page
    page.context.add_cookies(
        [
            {"name": name, "value": value, "url": live_server.url}
            for name, value in (
                (settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value),
                (settings.LANGUAGE_COOKIE_NAME, "ru"),
            )
        ]
    )
    page.goto(f"{live_server.url}/backoffice/analytics/")
    page.get_by_role("link", name="Мой профиль").click()
    page.wait_for_url("**/backoffice/profile/")
    assert "Арбат, Центральный" in page.locator("dl.profile").inner_text()
    assert accessibility_violations(page) == []
    # when she names a token and creates it
    page.get_by_label("Название токена").fill("Синхронизация цен")
    page.get_by_role("button", name="Создать токен").click()
    page.wait_for_selector(".new-token")
    key = page.locator(".token-key").inner_text().strip()
    assert re.fullmatch(r"ks_[0-9a-f]{12}_[0-9a-f]{52}", key)
    assert accessibility_violations(page) == []
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(shots / "backoffice-profile-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(shots / "backoffice-profile-phone.png"), full_page=True)
    # then the key works on the staff API, and the page, opened again, no longer shows it
    answer = Client().get("/api/v1/staff/me", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200 and answer.json()["username"] == "maria"
    page.goto(f"{live_server.url}/backoffice/profile/")
    assert key not in page.content() and page.locator(".token-key").count() == 0
    assert StaffToken.objects.filter(user=maria, revoked_at__isnull=True).count() == 2
