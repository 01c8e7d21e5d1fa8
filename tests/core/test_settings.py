"""Bad configuration stops the start-up with a message that names the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kopilka.core.money import MoneyFormatError, format_rubles, parse_rubles
from kopilka.core.sql import postgres_url
from kopilka.settings import database_from_url

ROOT = Path(__file__).resolve().parents[2]


def start_with(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT / "src"),
            "DJANGO_SETTINGS_MODULE": "kopilka.settings",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"TIME_ZONE": "Mars/Olympus"}, "TIME_ZONE"),
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"LANGUAGE_CODE": "de"}, "LANGUAGE_CODE"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
        ({"DB_CONN_MAX_AGE": "ten", "DATABASE_URL": "postgres://h/db"}, "DB_CONN_MAX_AGE"),
    ],
)
def test_bad_settings_fail_fast(env: dict[str, str], named: str) -> None:
    result = start_with(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and named in result.stderr


def test_good_settings_start() -> None:
    assert start_with(DATABASE_URL="sqlite:///:memory:", DEBUG="true").returncode == 0


def test_database_urls() -> None:
    pg = database_from_url("postgres://kop:s%40cret@db.local:6432/loyalty?sslmode=require")
    assert (pg["NAME"], pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"]) == (
        "loyalty",
        "kop",
        "s@cret",
        "db.local",
        "6432",
    )
    assert pg["OPTIONS"] == {"sslmode": "require", "prepare_threshold": 5}
    # what psycopg takes and libpq doesn't stays out of the URL that ADBC and subprocesses get
    assert postgres_url(pg) == "postgresql://kop:s%40cret@db.local:6432/loyalty?sslmode=require"
    assert database_from_url("sqlite:///var/x.sqlite3")["NAME"] == "var/x.sqlite3"


def test_prepared_statements_can_be_turned_off_for_a_pooler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DB_PREPARED_STATEMENTS", "false")
    assert database_from_url("postgres://h/db")["OPTIONS"] == {"prepare_threshold": None}


@pytest.mark.parametrize(
    ("text", "kopecks"), [("1299.90", 129990), ("0.01", 1), ("7", 700), ("12.5", 1250)]
)
def test_money_round_trips(text: str, kopecks: int) -> None:
    assert parse_rubles(text) == kopecks
    assert parse_rubles(format_rubles(kopecks)) == kopecks


@pytest.mark.parametrize("bad", ["12.345", "NaN", "Infinity", "abc", ""])
def test_money_rejects_what_is_not_money(bad: str) -> None:
    with pytest.raises(MoneyFormatError):
        parse_rubles(bad)
