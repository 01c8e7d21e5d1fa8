"""The printed materials page in a real Chromium: every preview is drawn, axe-core finds nothing
serious, desktop and phone screenshots."""

import os
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from tests.conftest import Api, accessibility_violations
from tests.members.test_admin_browser import PHONE, shoot


@pytest.mark.django_db(transaction=True)
def test_the_marketer_previews_every_material(
    browser_page: Any, live_server: Any, api: Api, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("KOPILKA_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    owner = User.objects.create_superuser("owner", password="x-secret-42", email="")
    client = Client()
    client.force_login(owner)
    page = browser_page
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}/backoffice/materials/")
    images = page.locator(".materials img")
    assert images.count() == 2 + 3 * 2  # the cheat-sheet twice, three materials × two languages
    for i in range(images.count()):
        images.nth(i).scroll_into_view_if_needed()
        images.nth(i).evaluate("img => img.decode()")
        assert images.nth(i).evaluate("img => img.complete && img.naturalWidth > 0")
    assert accessibility_violations(page) == []
    assert shoot(page, "materials", shots) <= PHONE["width"]
