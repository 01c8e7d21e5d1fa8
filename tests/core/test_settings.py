"""Bad configuration stops the start-up with a message that names the variable."""

import json
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
        ({"KOPILKA_LOGIN_FAILURES_PER_ACCOUNT": "ten"}, "KOPILKA_LOGIN_FAILURES_PER_ACCOUNT"),
        ({"KOPILKA_LOGIN_FAILURES_PER_ACCOUNT": "0"}, "KOPILKA_LOGIN_FAILURES_PER_ACCOUNT"),
        ({"KOPILKA_LOGIN_FAILURES_PER_IP": "-1"}, "KOPILKA_LOGIN_FAILURES_PER_IP"),
        ({"KOPILKA_LOGIN_LOCKOUT_MINUTES": "soon"}, "KOPILKA_LOGIN_LOCKOUT_MINUTES"),
        ({"KOPILKA_CLIENT_IP_HEADER": "X Forwarded For"}, "KOPILKA_CLIENT_IP_HEADER"),
        ({"KOPILKA_PROXY_SSL_HEADER": "X-Forwarded-Proto: https"}, "KOPILKA_PROXY_SSL_HEADER"),
        ({"KOPILKA_HTTPS": "yes please"}, "KOPILKA_HTTPS"),
        ({"KOPILKA_HSTS_SECONDS": "-5"}, "KOPILKA_HSTS_SECONDS"),
    ],
)
def test_bad_settings_fail_fast(env: dict[str, str], named: str) -> None:
    result = start_with(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and named in result.stderr


def test_good_settings_start() -> None:
    assert start_with(DATABASE_URL="sqlite:///:memory:", DEBUG="true").returncode == 0


def settings_with(names: list[str], **env: str) -> dict[str, object]:
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
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
    assert result.returncode == 0, result.stderr
    values: dict[str, object] = json.loads(result.stdout.splitlines()[-1])
    return values


HTTPS_SWITCHES = [
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_SSL_REDIRECT",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
]


def test_https_turns_on_secure_cookies_hsts_redirect_and_the_proxy_header() -> None:
    assert settings_with(HTTPS_SWITCHES, KOPILKA_HTTPS="true") == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    }
    # without a proxy in front (or with another header), and without subdomains
    assert settings_with(
        ["SECURE_PROXY_SSL_HEADER", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_SECONDS"],
        KOPILKA_HTTPS="true",
        KOPILKA_PROXY_SSL_HEADER="off",
        KOPILKA_HSTS_INCLUDE_SUBDOMAINS="false",
        KOPILKA_HSTS_SECONDS="3600",
    ) == {
        "SECURE_PROXY_SSL_HEADER": None,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_HSTS_SECONDS": 3600,
    }
    # the default (make demo, tests): plain HTTP, no proxy header trusted
    plain = settings_with(HTTPS_SWITCHES)
    assert plain["SECURE_PROXY_SSL_HEADER"] is None and plain["SECURE_HSTS_SECONDS"] == 0
    assert not any(plain[name] for name in ("SESSION_COOKIE_SECURE", "SECURE_SSL_REDIRECT"))


def test_login_limits_and_the_client_ip_header_come_from_the_environment() -> None:
    assert settings_with(
        ["AXES_FAILURE_LIMIT", "KOPILKA_LOGIN_FAILURES_PER_IP", "KOPILKA_CLIENT_IP_META_KEY"],
        KOPILKA_LOGIN_FAILURES_PER_ACCOUNT="5",
        KOPILKA_LOGIN_FAILURES_PER_IP="20",
        KOPILKA_CLIENT_IP_HEADER="X-Real-IP",
    ) == {
        "AXES_FAILURE_LIMIT": 5,
        "KOPILKA_LOGIN_FAILURES_PER_IP": 20,
        "KOPILKA_CLIENT_IP_META_KEY": "HTTP_X_REAL_IP",
    }


# The README's production settings.
PRODUCTION = {
    "SECRET_KEY": "k3J9-vQ2pX7_mZ4rT8wL1nB6cY5hF0dS-aG3eU9iO2jK7lP4qR8tV1xW6zN5bM0c",
    "DEBUG": "false",
    "KOPILKA_HTTPS": "true",
    "ALLOWED_HOSTS": "loyalty.example.ru",
    "DATABASE_URL": "postgres://kopilka:secret@127.0.0.1:5432/kopilka",
}


def check_deploy(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_the_production_settings() -> None:
    result = check_deploy(**PRODUCTION)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "WARNING" not in result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


def test_check_deploy_names_what_is_missing_without_https() -> None:
    result = check_deploy(**{**PRODUCTION, "KOPILKA_HTTPS": "false"})
    assert result.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in result.stderr, check


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
