"""Program versions end to end: the commands, the selector by effective time, its cache, the
migration from the settings row, and GET /api/v1/program."""

import io
import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import translation

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.core.models import AuditEntry
from kopilka.program.engine.document import DEFAULT_DOCUMENT, program_to_document
from kopilka.program.engine.values import Program
from kopilka.program.models import ProgramVersion
from kopilka.program.selectors import (
    program_cache_clear,
    program_in_force,
    program_in_force_since,
    program_version,
)
from kopilka.program.services import program_version_create
from tests.conftest import Api
from tests.program.test_document import EXAMPLE

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
SYSTEM = Actor.system("test")


def create(document: dict[str, Any], effective_from: datetime | None = None) -> ProgramVersion:
    with clock.frozen_at(NOW):
        version = program_version_create(
            actor=SYSTEM, document=document, effective_from=effective_from
        )
    program_cache_clear()  # the service clears it on commit; the test never commits
    return version


def write(tmp_path: Path, document: object, name: str = "program.json") -> Path:
    path = tmp_path / name
    path.write_text(
        document if isinstance(document, str) else json.dumps(document, ensure_ascii=False),
        encoding="utf-8",
    )
    return path


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    # English: the commands speak the active language (Russian by default once translated)
    with clock.frozen_at(NOW), translation.override("en"):
        call_command(*args, stdout=out, stderr=err)
    program_cache_clear()
    return out.getvalue(), err.getvalue()


# --- which version is in force -------------------------------------------------------------


def test_the_version_in_force_is_the_latest_that_has_taken_effect() -> None:
    ProgramVersion.objects.all().delete()
    assert program_in_force() == Program() and program_in_force_since() == (Program(), None)
    now = create({"earn_percent": "5"})
    later = create({"earn_percent": "10"}, effective_from=NOW + timedelta(days=7))
    assert program_in_force(NOW).version == now.pk
    assert program_in_force(NOW + timedelta(days=7) - timedelta(microseconds=1)).version == now.pk
    assert program_in_force(NOW + timedelta(days=7)).version == later.pk
    assert program_in_force(NOW + timedelta(days=7)).earn_percent == 10
    # before the first version: the built-in default
    assert program_in_force(NOW - timedelta(days=1)) == Program()
    assert program_in_force_since(NOW + timedelta(days=8))[1] == NOW + timedelta(days=7)
    # a version's own program, by id, whatever is in force
    assert program_version(now.pk).earn_percent == 5 and program_version(now.pk).version == now.pk
    with pytest.raises(ProgramVersion.DoesNotExist):
        program_version(10**9)
    # a purchase priced before any version records version 0: the built-in default
    assert program_version(0) == Program()


@override_settings(KOPILKA_RULES_CACHE_SECONDS=3600)
def test_a_future_version_takes_over_on_time_without_waiting_for_the_cache() -> None:
    # given a version in force, read once (so the cache holds the list)
    first = create({"earn_percent": "5"})
    with clock.frozen_at(NOW):
        assert program_in_force().version == first.pk
    # a version written behind the cache's back is not seen until the cache is cleared ...
    sneaky = ProgramVersion.objects.create(
        document=program_to_document(Program(earn_percent=Decimal(7))),
        effective_from=NOW - timedelta(hours=1),
        created_at=NOW,
        created_by="test",
    )
    with clock.frozen_at(NOW):
        assert program_in_force().version == first.pk
    program_cache_clear()
    with clock.frozen_at(NOW):
        assert program_in_force().version == first.pk  # older effective time: not in force
    sneaky.delete()
    # ... but one created for tomorrow and cached today takes over tomorrow, same cache
    tomorrow = create({"earn_percent": "9"}, effective_from=NOW + timedelta(days=1))
    with clock.frozen_at(NOW):
        assert program_in_force().version == first.pk
    with clock.frozen_at(NOW + timedelta(days=1)):
        assert program_in_force().version == tomorrow.pk


def test_the_cache_reads_the_list_once_and_each_version_once(
    django_assert_num_queries: Any,
) -> None:
    version = create({"earn_percent": "5"})
    with clock.frozen_at(NOW), django_assert_num_queries(2):  # the list, then the document
        program_in_force()
        program_in_force()
        program_version(version.pk)
    with clock.frozen_at(NOW), django_assert_num_queries(0):
        program_in_force()


@override_settings(KOPILKA_RULES_CACHE_SECONDS=0)
def test_with_no_cache_every_read_sees_the_new_list() -> None:
    first = create({"earn_percent": "5"})
    with clock.frozen_at(NOW):
        assert program_in_force().version == first.pk
    ProgramVersion.objects.create(
        document=program_to_document(Program(earn_percent=Decimal(7))),
        effective_from=NOW,
        created_at=NOW,
        created_by="test",
    )
    with clock.frozen_at(NOW):
        assert program_in_force().earn_percent == 7


# --- program_apply and program_show --------------------------------------------------------


def test_program_apply_creates_a_version_and_prints_its_id_last(tmp_path: Path) -> None:
    out, err = run("program_apply", str(write(tmp_path, EXAMPLE)), "--note", "зима")
    version = ProgramVersion.objects.latest("pk")
    assert out.splitlines()[-1] == str(version.pk)
    assert "«Утренний кофе ×2»" in out  # the program as the owner will read it
    assert version.document == EXAMPLE and version.note == "зима"
    assert version.created_by == "system:program_apply" and version.effective_from == NOW
    assert AuditEntry.objects.filter(action="program.version", target_id=version.pk).exists()
    # the example excludes tobacco but not nicotine: the law's warning
    assert "warning: 15-FZ art. 16" in err and "excluded_categories.nicotine does not" in err
    assert program_in_force(NOW).version == version.pk


def test_program_apply_with_a_future_effective_time(tmp_path: Path) -> None:
    out, _err = run(
        "program_apply", str(write(tmp_path, {})), "--effective-from", "2026-12-24T00:00+03:00"
    )
    version = ProgramVersion.objects.get(pk=int(out.splitlines()[-1]))
    assert version.effective_from == datetime(2026, 12, 23, 21, tzinfo=UTC)
    # without an offset: the business time zone (Moscow)
    out, _err = run("program_apply", str(write(tmp_path, {})), "--effective-from", "2027-01-01")
    version = ProgramVersion.objects.get(pk=int(out.splitlines()[-1]))
    assert version.effective_from == datetime(2026, 12, 31, 21, tzinfo=UTC)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{", "not JSON: Expecting property name enclosed in double quotes at line 1, column 2"),
        (
            {"rules": [{"code": "x", "name": "X", "then": {"earn_multiplier": "0"}}]},
            "1 problem(s); nothing was written",
        ),
        ("[]", "1 problem(s); nothing was written"),
    ],
)
def test_a_bad_file_exits_2_and_writes_nothing(
    tmp_path: Path, content: object, expected: str
) -> None:
    before = ProgramVersion.objects.count()
    with pytest.raises(CommandError) as caught:
        run("program_apply", str(write(tmp_path, content)))
    assert caught.value.returncode == 2 and expected in str(caught.value)
    assert ProgramVersion.objects.count() == before and not AuditEntry.objects.exists()


def test_every_problem_is_printed_with_its_path(tmp_path: Path) -> None:
    doc = {
        "earn_percent": "500",
        "rules": [
            {"code": "a", "name": "A", "then": {"bonus_points": 1}},
            {"code": "b", "name": "B", "then": {"bonus_points": 1}},
            {"code": "c", "name": "C", "then": {"earn_multiplier": "0"}},
        ],
    }
    err = io.StringIO()
    with pytest.raises(CommandError) as caught, translation.override("en"):
        call_command("program_apply", str(write(tmp_path, doc)), stderr=err)
    assert err.getvalue().splitlines() == [
        "earn_percent: must be at most 100",
        "rules[2].then.earn_multiplier: must be greater than 0",
    ]
    assert "2 problem(s)" in str(caught.value)


def test_an_unreadable_file_and_a_past_time_exit_2(tmp_path: Path) -> None:
    with pytest.raises(CommandError) as missing:
        run("program_apply", str(tmp_path / "nothing.json"))
    assert missing.value.returncode == 2 and "cannot be read" in str(missing.value)
    (tmp_path / "latin1.json").write_bytes(b'{"name": "\xe9"}')
    with pytest.raises(CommandError) as undecodable:
        run("program_apply", str(tmp_path / "latin1.json"))
    assert undecodable.value.returncode == 2
    with pytest.raises(CommandError) as past:
        run("program_apply", str(write(tmp_path, {})), "--effective-from", "2026-11-30")
    assert past.value.returncode == 2 and "in the past" in str(past.value)
    with pytest.raises(CommandError) as garbled:
        run("program_apply", str(write(tmp_path, {})), "--effective-from", "tomorrow")
    assert garbled.value.returncode == 2 and "ISO 8601" in str(garbled.value)
    assert not AuditEntry.objects.exists()


def test_program_show_prints_the_version_in_force_as_its_document(tmp_path: Path) -> None:
    ProgramVersion.objects.all().delete()
    out, _err = run("program_show")
    assert json.loads(out) == DEFAULT_DOCUMENT  # no version yet: the built-in default
    create(EXAMPLE)
    create({"name": "Потом"}, effective_from=NOW + timedelta(days=1))
    out, _err = run("program_show")
    assert json.loads(out) == EXAMPLE
    assert out == json.dumps(EXAMPLE, indent=2, ensure_ascii=False) + "\n"
    out, _err = run("program_show", "--at", "2026-12-02T11:59+03:00")
    assert json.loads(out)["name"] == "Копилка кофейни"  # 08:59 UTC: not yet
    out, _err = run("program_show", "--at", "2026-12-02T12:00+03:00")
    assert json.loads(out)["name"] == "Потом"
    # what program_show prints, program_apply takes back unchanged
    out, _err = run("program_apply", str(write(tmp_path, json.loads(out))))
    assert ProgramVersion.objects.latest("pk").document["name"] == "Потом"


def _manage(database: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "LANGUAGE_CODE": "en"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        check=check,
        cwd=ROOT,
    )


@pytest.mark.slow
def test_the_commands_as_an_owner_runs_them_and_the_settings_row_becomes_version_1(
    tmp_path: Path,
) -> None:
    database = tmp_path / "owner.sqlite3"
    # given yesterday's database: the program was one settings row
    _manage(database, "migrate", "program", "0001", "-v0")
    with sqlite3.connect(database) as connection:
        connection.execute(
            "INSERT INTO program_programsettings (earn_rate_bp, max_redeem_share_bp, "
            "pending_days, expiry_days, updated_at) VALUES (750, 2500, 2, 180, '2026-01-01')"
        )
    # when the new code is migrated
    _manage(database, "migrate", "-v0")
    # then the row is version 1, in force since 2000, and the table is gone
    shown = json.loads(_manage(database, "program_show").stdout)
    assert shown == {
        **DEFAULT_DOCUMENT,
        "earn_percent": "7.5",
        "redeem_max_percent": "25",
        "pending_days": 2,
        "expiry_days": 180,
    }
    with sqlite3.connect(database) as connection:
        assert connection.execute(
            "SELECT id, effective_from, created_by FROM program_programversion"
        ).fetchall() == [(1, "2000-01-01 00:00:00", "system:migration")]
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert "program_programsettings" not in tables
    # a bad file: status 2, every problem on stderr, nothing written
    bad = write(tmp_path, {"expiry_days": 0, "rules": [{"code": "Й"}]})
    failed = _manage(database, "program_apply", str(bad), check=False)
    assert failed.returncode == 2
    assert "expiry_days: must be at least 1" in failed.stderr
    assert "rules[0].code: must be 1 to 64" in failed.stderr
    assert "rules[0].name: is required" in failed.stderr
    # a good one: the new version's id alone on the last line
    done = _manage(database, "program_apply", str(write(tmp_path, EXAMPLE)))
    assert done.stdout.splitlines()[-1] == "2"
    assert json.loads(_manage(database, "program_show").stdout) == EXAMPLE


# --- GET /api/v1/program -------------------------------------------------------------------


def test_the_api_gives_the_version_in_force_its_document_and_explanation(
    api: Api, django_assert_max_num_queries: Any
) -> None:
    version = create(EXAMPLE)
    with clock.frozen_at(NOW), django_assert_max_num_queries(3):  # key, versions, document
        response = api.get("/program")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["version"] == version.pk and body["name"] == "Копилка кофейни"
    assert body["effective_from"] == "2026-12-01T09:00:00Z"
    assert body["document"] == EXAMPLE
    assert body["explanation"][:2] == [
        "«Копилка кофейни»: bonus points.",
        "5% of the money paid comes back as points (1 point = 1 ₽).",
    ]
    assert "Points are valid for 365 days." in body["explanation"]


def test_the_api_speaks_russian_by_default(api: Api) -> None:
    create({})
    with clock.frozen_at(NOW):
        body = api.get("/program", language="ru").json()
    assert "Баллы действуют 365 дней." in body["explanation"]
    with clock.frozen_at(NOW):
        english = api.get("/program", language="en").json()
    assert "Points are valid for 365 days." in english["explanation"]
    assert body["document"] == english["document"]


def test_the_api_before_any_version_answers_the_default_program(api: Api) -> None:
    ProgramVersion.objects.all().delete()
    body = api.get("/program").json()
    assert (body["version"], body["effective_from"]) == (0, None)
    assert body["document"] == DEFAULT_DOCUMENT


def test_the_api_needs_a_terminal_key(api: Api) -> None:
    response = api.get("/program", key=None)
    assert response.status_code == 401
    assert response.json()["error"]["code"]
    assert api.get("/program", key="kp_wrong_key").status_code == 401
