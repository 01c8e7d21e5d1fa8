"""A member's whole way through their page, in a real Chromium: join from the store's QR link
with the code the SMS outbox received; see the balance change after a purchase made through the
POS API and read the purchase's reasons; exchange points for a voucher; the card's QR (read back from the screen) resolves at
the POS API until it rotates; edit the profile; withdraw the SMS advertising consent and see the
next campaign's SMS suppressed; download the data and find the purchase; delete the account and
be unable to log in, with the ledger still whole. Every page is checked by axe-core and shot at
desktop and phone width (`KOPILKA_SCREENSHOTS=docs/screenshots` keeps them)."""

import io
import json
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from django.core.management import call_command
from PIL import Image

from kopilka.core import clock
from kopilka.members.models import Consent, Member
from kopilka.messaging.models import Message
from kopilka.messaging.services import messages_send_due
from kopilka.pos.models import Store
from kopilka.rewards.models import Reward, Voucher
from tests.conftest import Api, accessibility_violations, assert_ledger_clean, program_set
from tests.members.test_admin_browser import PHONE, shoot
from tests.members.test_tiers import buy

NUMBER = "+79161234567"


def code_from_outbox(var: Path) -> str:
    messages_send_due()
    line = json.loads((var / "outbox" / "sms.jsonl").read_text().splitlines()[-1])
    assert line["to"] == NUMBER, line
    found = re.search(r"\b\d{6}\b", line["text"])
    assert found, line
    return found.group(0)


def codes_read(page: Any, selector: str) -> list[str]:
    """What a scanner reads from the element as drawn on the screen."""
    image = Image.open(io.BytesIO(page.locator(selector).screenshot()))
    return [found.text for found in zxingcpp.read_barcodes(image)]


@pytest.mark.django_db(transaction=True)
def test_a_member_joins_buys_reads_changes_and_leaves(
    browser_page: Any, live_server: Any, api: Api, settings: Any, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("KOPILKA_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    settings.KOPILKA_VAR_DIR = tmp_path
    settings.KOPILKA_QUIET_HOURS = ""
    program_set(pending_days=0, bonuses={"welcome": {"points": 100}})
    Store.objects.create(code="arbat", name="Кофейня на Арбате")
    Reward.objects.create(
        code="cap", name="Капучино в подарок", kind=Reward.Kind.FREE_PRODUCT, sku="CAP",
        points_price=120, cost=3000, created_at=clock.now(),
    )  # fmt: skip
    page = browser_page
    problems: dict[str, list[str]] = {}

    def look(name: str) -> None:
        problems[name] = accessibility_violations(page)
        assert shoot(page, name, shots) <= PHONE["width"], f"{name} scrolls sideways at 390 px"

    # the consent is its own document, read before joining
    page.goto(f"{live_server.url}/consent/personal-data/")
    assert "ООО «Копилка» (демо)" in page.locator("main").inner_text()
    look("portal-consent")

    # join from the in-store QR link
    page.goto(f"{live_server.url}/join/arbat/")
    assert "Кофейня на Арбате" in page.locator("main").inner_text()
    page.fill("#id_phone", "8 916 123-45-67")
    page.fill("#id_name", "Анна")
    look("portal-join")
    page.get_by_label("Я даю согласие на обработку моих персональных данных").check()
    page.get_by_label("SMS с предложениями и новостями").check()
    page.get_by_role("button", name="Получить код").click()
    page.wait_for_url("**/join/code/")
    look("portal-join-code")
    page.fill("#id_code", code_from_outbox(tmp_path))
    page.get_by_role("button", name="Вступить").click()
    page.wait_for_url("**/me/")
    member = Member.objects.get(phone=NUMBER)
    assert member.enrolled_store is not None and member.enrolled_store.code == "arbat"
    assert "Добро пожаловать" in page.locator("main").inner_text()
    assert re.search(r"100\s+баллов", page.locator(".balance").inner_text())

    # a purchase at the till shows on the page, with its reasons
    buy(api, "1000.00", member, "R-7")
    page.reload()
    assert re.search(r"150\s+баллов", page.locator(".balance").inner_text())
    look("portal-home")
    page.get_by_role("link", name=re.compile("чек R-7")).first.click()
    page.wait_for_url("**/me/purchases/*/")
    assert "5 % базовых = 50 баллов" in page.locator("main").inner_text()
    look("portal-purchase")
    page.get_by_role("link", name="История").first.click()
    page.wait_for_url("**/me/history/")
    look("portal-history")
    page.get_by_role("link", name="Как это работает").click()
    page.wait_for_url("**/me/program/")
    look("portal-program")

    # the card: the QR read from the screen finds the member at the till, until it rotates
    page.get_by_role("link", name="Карта для кассы").click()
    page.wait_for_url("**/me/card/")
    page.wait_for_load_state("networkidle")
    look("portal-card")
    (token,) = codes_read(page, "#card-qr")
    found = api.get(f"/members/lookup?qr={token}")
    assert found.status_code == 200 and found.json()["id"] == member.pk
    (number,) = codes_read(page, ".barcode")
    assert api.get(f"/members/lookup?card={number}").json()["id"] == member.pk
    with clock.frozen_at(clock.now() + timedelta(minutes=3)):
        assert api.get(f"/members/lookup?qr={token}").status_code == 404

    # rewards: 120 of the 150 points for a voucher, shown as a code and a QR code for the till
    page.get_by_role("link", name="Награды").first.click()
    page.wait_for_url("**/me/rewards/")
    look("portal-rewards")
    page.get_by_role("button", name="Обменять 120 баллов").click()
    page.wait_for_url("**/me/vouchers/*/")
    voucher = Voucher.objects.get(member=member)
    assert voucher.code in page.locator("main").inner_text()
    assert codes_read(page, ".qr") == [voucher.code]
    look("portal-voucher")
    page.get_by_role("link", name="Моя карта").first.click()
    assert re.search(r"30\s+баллов", page.locator(".balance").inner_text())

    # profile: a new name, and no more advertising SMS
    page.get_by_role("link", name="Профиль").click()
    page.wait_for_url("**/me/profile/")
    page.fill("#id_name", "Анна Смирнова")
    page.get_by_label("SMS с предложениями и новостями").uncheck()
    page.get_by_role("button", name="Сохранить").click()
    page.wait_for_selector("text=Сохранено.")
    look("portal-profile")
    member.refresh_from_db()
    assert member.name == "Анна Смирнова"
    withdrawn = Consent.objects.filter(member=member, channel="sms", purpose="marketing").last()
    assert withdrawn is not None and not withdrawn.given and withdrawn.ip == "127.0.0.1"
    call_command(
        "campaign_send", "--key", "dec", "--audience", "all", "--channel", "sms",
        "--text", "{name}, скидка на десерты!", "--control-share", "0", stdout=io.StringIO(),
    )  # fmt: skip
    messages_send_due()
    campaign = Message.objects.filter(member=member, purpose="marketing")
    assert [m.status for m in campaign] in ([], ["suppressed"]), "no advertising SMS"
    outbox = (tmp_path / "outbox" / "sms.jsonl").read_text()
    assert "десерты" not in outbox

    # privacy: the export holds the purchase; then the account is deleted
    page.get_by_role("link", name="Мои данные").click()
    page.wait_for_url("**/me/privacy/")
    look("portal-privacy")
    with page.expect_download() as download:
        page.get_by_role("link", name="JSON").click()
    exported = json.loads(Path(download.value.path()).read_text())
    assert "R-7" in json.dumps(exported, ensure_ascii=False)
    page.get_by_label("Понимаю: удалить мой аккаунт").check()
    page.get_by_role("button", name="Удалить мой аккаунт").click()
    page.wait_for_url("**/me/delete/")
    look("portal-deleted")
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_phone", NUMBER)
    page.get_by_role("button", name="Получить код").click()
    page.wait_for_url("**/login/code/")
    messages_send_due()
    assert not Message.objects.filter(trigger="login_code").exists(), "no code to a deleted phone"
    page.fill("#id_code", "123456")
    page.get_by_role("button", name="Войти").click()
    assert "Код неверный" in page.locator(".error").inner_text()
    look("portal-login-refused")
    assert_ledger_clean()
    assert {name: found for name, found in problems.items() if found} == {}
