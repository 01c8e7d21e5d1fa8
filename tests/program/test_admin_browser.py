"""The program's versions in a real Chromium: the list, a version, the add form with problems;
desktop and 390 px screenshots (KOPILKA_SCREENSHOTS=dir keeps them), no sideways scrolling."""

import json
import os
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from kopilka.core.audit import Actor
from kopilka.program.models import ProgramVersion
from kopilka.program.services import program_version_create
from tests.members.test_admin_browser import PHONE, shoot
from tests.program.test_document import EXAMPLE

PASSWORD = "Секрет-123-пароль"


@pytest.mark.django_db(transaction=True)
def test_the_owner_reads_the_versions_and_makes_a_new_one(
    browser_page: Any, live_server: Any, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("KOPILKA_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    get_user_model().objects.create_superuser("owner", password=PASSWORD, email="")
    version = program_version_create(actor=Actor.system("test"), document=EXAMPLE)
    versions = ProgramVersion.objects.count()  # with the migration's version 1, if still there
    page = browser_page
    page.goto(f"{live_server.url}/admin/login/?next=/admin/program/programversion/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/program/programversion/")

    # the list: one version, in force
    assert "Копилка кофейни" in page.locator("#result_list").inner_text()
    assert shoot(page, "program-versions", shots) <= PHONE["width"]

    # a version: its explanation and its document
    page.goto(f"{live_server.url}/admin/program/programversion/{version.pk}/change/")
    assert "«Утренний кофе ×2»" in page.locator(".kopilka-explanation").inner_text()
    assert json.loads(page.locator(".kopilka-document").inner_text()) == EXAMPLE
    assert shoot(page, "program-version", shots) <= PHONE["width"]

    # the add form: a wrong file shows every problem with its path, and nothing is created
    page.goto(f"{live_server.url}/admin/program/programversion/add/")
    assert page.locator("#id_name").input_value() == "Копилка кофейни"
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"earn_percent": "500", "rules": [{"code": "A", "name": "x", "then": {}}]}),
        encoding="utf-8",
    )
    page.set_input_files("#id_file", str(bad))
    page.click("input[type=submit]")
    problems = page.locator(".kopilka-problems").inner_text()
    assert "earn_percent:" in problems and "rules[0].code:" in problems
    assert "rules[0].then:" in problems
    assert ProgramVersion.objects.count() == versions
    assert shoot(page, "program-version-add-problems", shots) <= PHONE["width"]

    # the figures: a new version, the rules kept
    page.goto(f"{live_server.url}/admin/program/programversion/add/")
    page.fill("#id_earn_percent", "7")
    page.click("input[type=submit]")
    page.wait_for_url("**/change/")
    assert page.locator(".messagelist .success").count() == 1
    newest = ProgramVersion.objects.latest("pk")
    assert newest.document["earn_percent"] == "7" and newest.document["rules"] == EXAMPLE["rules"]
    assert shoot(page, "program-version-created", shots) <= PHONE["width"]
