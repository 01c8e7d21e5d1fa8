"""The rewards catalogue in the admin, in a real Chromium, desktop and phone."""

import os
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from tests.members.test_admin_browser import PASSWORD, PHONE, shoot
from tests.rewards.test_rewards import reward


@pytest.mark.django_db(transaction=True)
def test_the_owner_reads_the_rewards_in_russian(
    browser_page: Any, live_server: Any, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("KOPILKA_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    get_user_model().objects.create_superuser("owner", password=PASSWORD, email="")
    reward("cappuccino")
    reward("mug", name="Фирменная кружка", kind="gift", points_price=900, cost=25000, stock=20)
    page = browser_page
    page.goto(f"{live_server.url}/admin/login/?next=/admin/rewards/reward/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/rewards/reward/")
    table = page.locator("#result_list").inner_text()
    assert "Бесплатный капучино" in table and "Фирменная кружка" in table
    assert "подарок" in table and "бесплатный товар" in table
    assert shoot(page, "rewards", shots) <= PHONE["width"]
    page.get_by_role("link", name="Фирменная кружка").click()
    assert "Цена в баллах" in page.locator("#content-main").inner_text()
    assert shoot(page, "reward", shots) <= PHONE["width"]
