"""The member's page in a real Chromium: log in with the code the SMS outbox received, see the
balance, the tier, a reward within reach and the purchase with its reasons; desktop and phone."""

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from kopilka.messaging.services import messages_send_due
from kopilka.rewards.models import Reward
from tests.conftest import Api, enroll, program_set
from tests.members.test_admin_browser import PHONE, shoot
from tests.members.test_tiers import TIERS, buy


@pytest.mark.django_db(transaction=True)
def test_a_member_logs_in_and_reads_every_point(
    browser_page: Any, live_server: Any, api: Api, settings: Any, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("KOPILKA_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    settings.KOPILKA_VAR_DIR = tmp_path
    settings.KOPILKA_QUIET_HOURS = ""
    program_set(tiers=TIERS, tier_window_days=365, tier_grace_days=30, pending_days=0)
    member = enroll("+79161234567", name="Анна Смирнова")
    Reward.objects.create(
        code="cap", name="Капучино в подарок", kind=Reward.Kind.FREE_PRODUCT, sku="CAP",
        points_price=40, cost=3000, created_at=member.created_at,
    )  # fmt: skip
    Reward.objects.create(
        code="mug", name="Фирменная кружка", kind=Reward.Kind.GIFT,
        points_price=900, cost=25000, created_at=member.created_at,
    )  # fmt: skip
    buy(api, "1200.00", member, "R-1")  # 5 % of 1,200 ₽: 60 points, and the silver tier

    page = browser_page
    page.goto(f"{live_server.url}/me/")
    page.wait_for_url("**/login/")
    page.fill("#id_phone", "8 916 123-45-67")
    page.get_by_role("button", name="Получить код").click()
    page.wait_for_url("**/login/code/")
    messages_send_due()
    line = json.loads((tmp_path / "outbox" / "sms.jsonl").read_text().splitlines()[-1])
    found = re.search(r"\d{6}", line["text"])
    assert found and line["to"] == "+79161234567"
    page.fill("#id_code", "000000" if found.group(0) != "000000" else "111111")
    page.get_by_role("button", name="Войти").click()
    assert "Код неверный" in page.locator(".error").inner_text()
    assert shoot(page, "portal-code", shots) <= PHONE["width"]
    page.fill("#id_code", found.group(0))
    page.get_by_role("button", name="Войти").click()
    page.wait_for_url("**/me/")

    text = page.locator("main").inner_text()
    assert "Здравствуйте, Анна Смирнова!" in text
    assert re.search(r"60\s+баллов", text), text
    assert "Ими можно оплатить 60 ₽ чека." in text.replace("\u00a0", " ")
    assert "Серебро" in text and "Кофе без очереди" in text
    assert "Капучино в подарок" in text and "уже ваша" in text.lower()
    assert "не хватает баллов: 840" in text
    assert "R-1" in page.locator(".operations").inner_text()
    assert shoot(page, "portal-home", shots) <= PHONE["width"]
    page.get_by_role("link", name=re.compile("чек R-1")).first.click()
    page.wait_for_url("**/me/purchases/*/")
    receipt = page.locator("main").inner_text()
    assert "Чек R-1" in receipt and "5 % базовых = 60 баллов" in receipt
    assert shoot(page, "portal-purchase", shots) <= PHONE["width"]
    page.get_by_role("link", name="История").first.click()
    page.wait_for_url("**/me/history/")
    assert shoot(page, "portal-history", shots) <= PHONE["width"]
    page.get_by_role("link", name="Как это работает").click()
    page.wait_for_url("**/me/program/")
    assert "5 %" in page.locator("main").inner_text()
    assert shoot(page, "portal-program", shots) <= PHONE["width"]
    page.get_by_role("link", name="Профиль").click()
    page.wait_for_url("**/me/profile/")
    page.get_by_label("SMS с предложениями и новостями").check()
    page.get_by_role("button", name="Сохранить").click()
    page.wait_for_selector("text=Сохранено.")
    assert page.get_by_label("SMS с предложениями и новостями").is_checked()
    assert shoot(page, "portal-profile", shots) <= PHONE["width"]
    page.get_by_role("link", name="Мои данные").click()
    page.wait_for_url("**/me/privacy/")
    assert "SMS" in page.locator(".consents").inner_text()
    assert shoot(page, "portal-privacy", shots) <= PHONE["width"]
    page.get_by_role("link", name="Карта для кассы").click()
    page.wait_for_url("**/me/card/")
    page.wait_for_load_state("networkidle")
    for image in ("#card-qr", ".barcode"):  # both drawn, not broken images
        assert page.locator(image).evaluate("img => img.complete && img.naturalWidth > 0")
    assert shoot(page, "portal-card", shots) <= PHONE["width"]
    page.get_by_role("button", name="Выйти").click()
    page.wait_for_url("**/login/")
    assert shoot(page, "portal-login", shots) <= PHONE["width"]
