"""Program versions in the admin: read-only history; a new version from the main figures (rules
kept) or from an uploaded document; problems shown with their JSON paths."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.core.models import AuditEntry
from kopilka.program.engine.document import DEFAULT_DOCUMENT
from kopilka.program.models import ProgramVersion
from kopilka.program.selectors import program_cache_clear, program_in_force
from kopilka.program.services import program_version_create
from tests.program.test_document import EXAMPLE

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
LIST = "/admin/program/programversion/"
ADD = "/admin/program/programversion/add/"
FORM = {
    "mode": "points",
    "name": "Кофейня",
    "earn_percent": "7.5",
    "redeem_max_percent": "50",
    "pending_days": "3",
    "expiry_days": "180",
    "discount_percent": "0",
    "effective_from_0": "",
    "effective_from_1": "",
    "note": "",
}


@pytest.fixture
def staff_client() -> Client:
    user = get_user_model().objects.create_superuser("boss", password="a-long-password-1")
    # English: the Russian wording of these pages waits for the lead's .po entries
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    return client


@pytest.fixture
def in_force() -> ProgramVersion:
    ProgramVersion.objects.all().delete()
    with clock.frozen_at(NOW):
        version = program_version_create(actor=Actor.system("test"), document=EXAMPLE)
    program_cache_clear()
    return version


def post(client: Client, data: dict[str, Any]) -> Any:
    with clock.frozen_at(NOW):
        response = client.post(ADD, data)
    program_cache_clear()  # the service clears it on commit; the test never commits
    return response


def html_of(response: Any) -> str:
    return response.content.decode()


def test_the_list_shows_each_version_with_its_status(
    staff_client: Client, in_force: ProgramVersion
) -> None:
    with clock.frozen_at(NOW):
        later = program_version_create(
            actor=Actor.system("test"), document={}, effective_from=NOW + timedelta(days=3)
        )
    program_cache_clear()
    with clock.frozen_at(NOW):
        html = html_of(staff_client.get(LIST))
    assert "<h1>Program versions</h1>" in html
    assert "Копилка кофейни" in html and "Bonus points" in html
    assert "in force" in html and "scheduled" in html
    assert f"{LIST}{later.pk}/change/" in html
    # the add button declines the noun; nothing offers to delete
    assert "New program version" in html and "delete_selected" not in html


def test_a_version_reads_as_its_document_and_its_explanation(
    staff_client: Client, in_force: ProgramVersion
) -> None:
    with clock.frozen_at(NOW):
        response = staff_client.get(f"{LIST}{in_force.pk}/change/")
    assert response.status_code == 200
    html = html_of(response)
    assert '<pre class="kopilka-document">' in html
    assert "&quot;earn_multiplier&quot;: &quot;2&quot;" in html  # pretty-printed, escaped
    assert '<div class="kopilka-explanation">' in html and "«Утренний кофе ×2»" in html
    # read-only: no field to edit, no save button
    assert 'name="_save"' not in html and "<textarea" not in html


def test_versions_cannot_be_edited_or_deleted(
    staff_client: Client, in_force: ProgramVersion
) -> None:
    before = ProgramVersion.objects.get(pk=in_force.pk).document
    response = staff_client.post(f"{LIST}{in_force.pk}/change/", {"note": "подмена"})
    assert response.status_code == 403
    assert staff_client.post(f"{LIST}{in_force.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ProgramVersion.objects.get(pk=in_force.pk).document == before


def test_the_add_form_starts_from_the_version_in_force(
    staff_client: Client, in_force: ProgramVersion
) -> None:
    with clock.frozen_at(NOW):
        response = staff_client.get(ADD)
    assert response.status_code == 200
    form = response.context["form"]
    assert form["name"].value() == "Копилка кофейни" and form["earn_percent"].value() == "5"
    assert form["expiry_days"].value() == 365
    html = html_of(response)
    assert "<h1>New program version</h1>" in html
    assert 'type="file"' in html and 'enctype="multipart/form-data"' in html


def test_the_main_figures_make_a_version_that_keeps_the_rules(
    staff_client: Client, in_force: ProgramVersion
) -> None:
    response = post(staff_client, {**FORM, "note": "осень"})
    assert response.status_code == 302, response.context and response.context["form"].errors
    version = ProgramVersion.objects.latest("pk")
    assert response["Location"] == f"{LIST}{version.pk}/change/"
    assert version.document == {
        **EXAMPLE,
        "name": "Кофейня",
        "earn_percent": "7.5",
        "redeem_max_percent": "50",
        "pending_days": 3,
        "expiry_days": 180,
    }
    assert (version.created_by, version.note, version.effective_from) == (
        "staff:boss",
        "осень",
        NOW,
    )
    entry = AuditEntry.objects.get(action="program.version", target_id=version.pk)
    assert entry.actor_label == "staff:boss"
    with clock.frozen_at(NOW):
        assert program_in_force().version == version.pk
        page = staff_client.get(response["Location"])
    # the law's warning travels with the success message (the example forgets nicotine)
    assert "excluded_categories.nicotine does not exclude" in html_of(page)
    assert f"Version {version.pk} is in force." in html_of(page)


def test_a_future_version_from_the_form(staff_client: Client, in_force: ProgramVersion) -> None:
    response = post(
        staff_client, {**FORM, "effective_from_0": "2026-12-24", "effective_from_1": "00:00"}
    )
    assert response.status_code == 302
    version = ProgramVersion.objects.latest("pk")
    # the admin types Moscow time
    assert version.effective_from == datetime(2026, 12, 23, 21, tzinfo=UTC)
    with clock.frozen_at(NOW):
        assert program_in_force().version == in_force.pk


def test_an_uploaded_document_makes_a_version_as_it_is(
    staff_client: Client, in_force: ProgramVersion
) -> None:
    document = {**DEFAULT_DOCUMENT, "name": "Из файла", "mode": "discount"}
    document["discount_percent"] = "4"
    upload = SimpleUploadedFile(
        "program.json", json.dumps(document, ensure_ascii=False).encode(), "application/json"
    )
    # the figures in the form are ignored when a file is chosen, even if cleared
    response = post(staff_client, {**FORM, "name": "", "file": upload})
    assert response.status_code == 302, response.context and response.context["form"].errors
    assert ProgramVersion.objects.latest("pk").document == document


def test_a_wrong_document_shows_every_problem_with_its_path(
    staff_client: Client, in_force: ProgramVersion
) -> None:
    before = ProgramVersion.objects.count()
    bad = {"earn_percent": "500", "rules": [{"code": "x", "name": "X", "then": {}}]}
    upload = SimpleUploadedFile("bad.json", json.dumps(bad).encode(), "application/json")
    response = post(staff_client, {**FORM, "file": upload})
    assert response.status_code == 200
    problems = response.context["form"].non_field_errors()
    assert problems[0].startswith("earn_percent: ")
    assert problems[1].startswith("rules[0].then: ")
    html = html_of(response)
    assert "kopilka-problems" in html and "rules[0].then:" in html
    assert (
        ProgramVersion.objects.count() == before
        and not AuditEntry.objects.filter(
            action="program.version", actor_label="staff:boss"
        ).exists()
    )


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"{", "JSON"),
        (b"\xff\xfe", "UTF-8"),
    ],
)
def test_a_file_that_is_not_json_is_a_form_error(
    staff_client: Client, in_force: ProgramVersion, content: bytes, error: str
) -> None:
    upload = SimpleUploadedFile("bad.json", content, "application/json")
    response = post(staff_client, {**FORM, "file": upload})
    assert response.status_code == 200
    assert error in " ".join(response.context["form"].errors["file"])


def test_a_mode_that_needs_more_than_the_form_says_so_with_the_path(
    staff_client: Client, in_force: ProgramVersion
) -> None:
    ProgramVersion.objects.all().delete()
    with clock.frozen_at(NOW):
        program_version_create(actor=Actor.system("test"), document={})
    program_cache_clear()
    response = post(staff_client, {**FORM, "mode": "accumulating_discount"})
    assert response.status_code == 200
    (problem,) = response.context["form"].non_field_errors()
    assert problem.startswith("discount_levels: ")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("earn_percent", "150"),
        ("earn_percent", "-1"),
        ("earn_percent", "5.555"),
        ("redeem_max_percent", "abc"),
        ("expiry_days", "0"),
        ("pending_days", "400"),
        ("name", ""),
        ("mode", "cashback"),
    ],
)
def test_a_wrong_figure_is_a_form_error_and_changes_nothing(
    staff_client: Client, in_force: ProgramVersion, field: str, value: str
) -> None:
    before = ProgramVersion.objects.count()
    response = post(staff_client, {**FORM, field: value})
    assert response.status_code == 200
    assert response.context["form"].errors.get(field)
    assert ProgramVersion.objects.count() == before


def test_a_past_effective_time_is_refused_on_its_field(
    staff_client: Client, in_force: ProgramVersion
) -> None:
    before = ProgramVersion.objects.count()
    response = post(
        staff_client, {**FORM, "effective_from_0": "2026-11-30", "effective_from_1": "12:00"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["effective_from"]
    assert ProgramVersion.objects.count() == before


def test_staff_without_the_permission_cannot_add(in_force: ProgramVersion) -> None:
    clerk = get_user_model().objects.create_user("clerk", password="pw-clerk-12345", is_staff=True)
    client = Client()
    client.force_login(clerk)
    assert client.get(ADD).status_code == 403
    assert client.post(ADD, FORM).status_code == 403


def _translated() -> bool:
    from django.utils import translation

    with translation.override("ru"):
        return translation.gettext("program versions") != "program versions"


@pytest.mark.skipif(not _translated(), reason="the Russian entries are not in the .po file yet")
def test_the_pages_read_in_russian(in_force: ProgramVersion) -> None:
    user = get_user_model().objects.create_superuser("boss", password="a-long-password-1")
    client = Client()
    client.force_login(user)
    with clock.frozen_at(NOW):
        listing = html_of(client.get(LIST))
        adding = html_of(client.get(ADD))
    assert "<h1>Версии программы</h1>" in listing and "в силе" in listing
    assert "<h1>Новая версия программы</h1>" in adding
