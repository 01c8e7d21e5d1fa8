"""The message template's live preview in a real Chromium: the text as a real member would get
it, its SMS parts with the unsubscribe link of an advert, updated as the owner types."""

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from kopilka.core import clock
from kopilka.messaging.models import MessageTemplate
from tests.conftest import enroll, points_move
from tests.members.test_admin_browser import PASSWORD, PHONE, shoot


@pytest.mark.django_db(transaction=True)
def test_the_owner_sees_the_text_a_real_member_would_get(
    browser_page: Any, live_server: Any, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("KOPILKA_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    get_user_model().objects.create_superuser("owner", password=PASSWORD, email="")
    anna = enroll("+79161234567", name="Анна")
    points_move(anna.pk, earn=340, at=clock.now() - timedelta(days=3))
    boris = enroll("+79161234568", name="Борис")  # the newest: the default

    page = browser_page
    page.goto(f"{live_server.url}/admin/login/?next=/admin/messaging/messagetemplate/add/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/messagetemplate/add/")
    preview = page.locator("#template-preview")
    page.fill("#id_name", "december")
    page.select_option("#id_channel", "sms")
    page.fill("#id_text", "{name}, у вас {balance} баллов")
    shown = page.locator(".template-preview-text")
    expect(shown).to_have_text(re.compile(r"^Борис, у вас 0 баллов"))
    assert f"#{boris.pk} Борис" in preview.inner_text()
    page.fill("#id_preview_member", "+7 916 123-45-67")
    expect(shown).to_have_text(re.compile(r"^Анна, у вас 340 баллов"))
    text = page.locator(".template-preview-text").inner_text()
    assert "Отписка: http" in text  # an advert: the sender adds its link
    assert re.search(r"символов: \d+, частей SMS: [12] \(UCS-2\)", preview.inner_text())
    assert shoot(page, "template-preview", shots) <= PHONE["width"]
    page.fill("#id_text", "{name}, у вас {bonus}")
    page.wait_for_selector(".template-preview-error:not([hidden])")
    assert "{bonus}" in page.locator(".template-preview-error").inner_text()
    expect(shown).to_be_hidden()

    page.fill("#id_text", "{name}, у вас {balance} баллов")
    page.click("input[name=_save]")
    page.wait_for_url("**/messagetemplate/")
    assert MessageTemplate.objects.get(name="december").text == "{name}, у вас {balance} баллов"
