"""Staff login throttling (django-axes), the HTTPS switches and the Content-Security-Policy."""

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory
from pytest_django.fixtures import Settings as SettingsWrapper

from kopilka.analytics.models import Snapshot
from kopilka.core.login_throttle import client_ip
from tests.backoffice.test_analytics_pages import (  # noqa: F401  (fixtures)
    PASSWORD,
    figures,
    log_in,
    staff,
)
from tests.conftest import enroll, receipt

RIGHT = "Верный-пароль-2026"
OFFICE = "203.0.113.7"


@pytest.fixture
def fast_hashing(settings: SettingsWrapper) -> None:
    # Argon2 takes a tenth of a second a guess by design; the limits are what is tested here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def owners(db: None, fast_hashing: None) -> list[Any]:
    users = get_user_model().objects
    return [users.create_user(name, password=RIGHT, is_staff=True) for name in ("anna", "boris")]


def sign_in(username: str, password: str, ip: str = OFFICE) -> tuple[Client, Any]:
    client = Client(REMOTE_ADDR=ip)
    response = client.post(
        "/admin/login/?next=/admin/", {"username": username, "password": password}
    )
    return client, response


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def fail(username: str, times: int, ip: str = OFFICE) -> list[int]:
    return [sign_in(username, f"wrong-{i}", ip)[1].status_code for i in range(times)]


def test_five_wrong_passwords_lock_the_account_and_the_right_one_is_refused(
    owners: list[Any],
) -> None:
    # given four wrong passwords: each is only the form's error
    assert fail("anna", 4) == [200] * 4
    # when the fifth is wrong too
    _client, tenth = sign_in("anna", "wrong-5")
    # then the account is locked: a readable Russian page, 429
    assert tenth.status_code == 429
    page = tenth.content.decode()
    assert "Вход временно закрыт" in page and "на 15 минут" in page
    assert '<a href="/admin/login/">' in page
    # and the right password does not open it
    client, right = sign_in("anna", RIGHT)
    assert right.status_code == 429 and not signed_in(client)
    assert client.get("/admin/").status_code == 302


def test_another_account_from_the_same_ip_works_until_the_ip_limit(owners: list[Any]) -> None:
    # given anna locked from the office's address
    fail("anna", 5)
    # then boris, from the same address, still signs in
    client, response = sign_in("boris", RIGHT)
    assert response.status_code == 302 and signed_in(client)
    # when guesses at other names bring the address to its limit (50) without locking any name
    for name in range(10):
        assert fail(f"guess{name}", 4) == [200] * 4
    assert sign_in("guess-last", "x")[1].status_code == 200  # the 46th failure
    assert fail("guess-final", 4) == [200, 200, 200, 429]  # the 50th
    # then nobody signs in from that address, boris included
    client, response = sign_in("boris", RIGHT)
    assert response.status_code == 429 and not signed_in(client)
    # but boris does from another one
    client, response = sign_in("boris", RIGHT, ip="198.51.100.20")
    assert response.status_code == 302 and signed_in(client)


def test_the_lock_opens_when_the_lockout_time_has_passed(owners: list[Any]) -> None:
    fail("anna", 5)

    def age_attempts(minutes: float) -> None:
        # the window counts from the last failure, stored in attempt_time
        for attempt in AccessAttempt.objects.all():
            AccessAttempt.objects.filter(pk=attempt.pk).update(
                attempt_time=attempt.attempt_time - timedelta(minutes=minutes)
            )

    # 14 minutes later the account is still locked (and this refused try starts the pause again)
    age_attempts(14)
    assert sign_in("anna", RIGHT)[1].status_code == 429
    age_attempts(14)
    assert sign_in("anna", RIGHT)[1].status_code == 429
    # 15 minutes after the last try it opens
    age_attempts(15.1)
    client, response = sign_in("anna", RIGHT)
    assert response.status_code == 302 and signed_in(client)


def test_attempts_are_recorded_without_the_passwords(owners: list[Any]) -> None:
    fail("anna", 5)
    sign_in("boris", RIGHT)

    attempt = AccessAttempt.objects.get(username="anna")
    assert (attempt.ip_address, attempt.failures_since_start) == (OFFICE, 5)
    assert "wrong-" not in attempt.post_data
    failures = AccessFailureLog.objects.filter(username="anna").order_by("attempt_time", "pk")
    assert failures.count() == 5
    assert [f.locked_out for f in failures] == [False] * 4 + [True]
    assert {f.path_info for f in failures} == {"/admin/login/"}
    assert AccessLog.objects.get(username="boris").ip_address == OFFICE


def test_lockout_limits_come_from_the_environment() -> None:
    # the defaults (bad values are refused at start-up: tests/core/test_settings.py)
    assert settings.AXES_FAILURE_LIMIT == settings.KOPILKA_LOGIN_FAILURES_PER_ACCOUNT == 5
    assert settings.KOPILKA_LOGIN_FAILURES_PER_IP == 50
    lockout: timedelta = settings.AXES_COOLOFF_TIME
    assert lockout.total_seconds() == 15 * 60


def test_the_client_ip_comes_from_a_header_only_when_one_is_configured(
    settings: SettingsWrapper,
) -> None:
    factory = RequestFactory()
    spoofed = factory.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4")
    # no proxy configured: a client's own X-Forwarded-For changes nothing
    assert client_ip(spoofed) == "10.0.0.2"

    settings.KOPILKA_CLIENT_IP_META_KEY = "HTTP_X_FORWARDED_FOR"
    # the proxy appends the address it saw; what the client wrote stands left of it
    proxied = factory.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.9")
    assert client_ip(proxied) == "198.51.100.9"
    assert client_ip(factory.get("/", REMOTE_ADDR="10.0.0.2")) == "10.0.0.2"


def test_failures_behind_a_proxy_count_per_client(
    owners: list[Any], settings: SettingsWrapper
) -> None:
    settings.KOPILKA_CLIENT_IP_META_KEY = "HTTP_X_REAL_IP"
    Client(REMOTE_ADDR="10.0.0.2", HTTP_X_REAL_IP="198.51.100.9").post(
        "/admin/login/", {"username": "anna", "password": "wrong"}
    )
    assert AccessAttempt.objects.get().ip_address == "198.51.100.9"


# --- HTTPS and the Content-Security-Policy ------------------------------------------------


@pytest.fixture
def https(settings: SettingsWrapper) -> None:
    """What KOPILKA_HTTPS=true sets (tests/core/test_settings.py checks that it does)."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True


@pytest.mark.django_db
def test_with_https_plain_http_is_redirected_and_https_gets_hsts(https: None) -> None:
    plain = Client().get("/admin/login/")
    assert plain.status_code == 301 and plain["Location"] == "https://testserver/admin/login/"
    # a load balancer's health probe is answered over plain HTTP
    assert Client().get("/healthz").status_code == 200
    proxied = Client(HTTP_X_FORWARDED_PROTO="https").get("/healthz")
    assert proxied.status_code == 200
    assert proxied["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


@pytest.mark.django_db
def test_with_https_the_session_and_csrf_cookies_are_secure(https: None, owners: list[Any]) -> None:
    client = Client(HTTP_X_FORWARDED_PROTO="https")
    form = client.get("/admin/login/")
    assert form.cookies["csrftoken"]["secure"] is True
    response = client.post("/admin/login/", {"username": "anna", "password": RIGHT})
    assert response.status_code == 302
    assert response.cookies["sessionid"]["secure"] is True
    assert response.cookies["sessionid"]["httponly"] is True


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/", "/admin/login/", "/api/v1/docs", "/api/v1/redoc", "/api/v1/openapi.json"]
)
def test_every_page_carries_a_content_security_policy(path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 200
    policy = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"  # no inline scripts, no eval
    assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"


@pytest.mark.django_db
def test_a_purchase_answer_carries_the_json_policy(api: Any) -> None:
    """JSON is never a page: nothing may load from it or frame it, and the pages' policy is not
    built for it."""
    member = enroll()
    body = receipt(("COF1", "1", "250.00"), member_id=member.pk, receipt_number="CSP-1")
    first = api.post("/purchases", body, idempotency_key="csp-1")
    replay = api.post("/purchases", body, idempotency_key="csp-1")
    assert first.status_code == replay.status_code == 201
    assert first.json() == replay.json()
    for response in (first, replay):
        assert response["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture
def watched_page(browser_page: Any) -> Iterator[tuple[Any, list[str]]]:
    """A page that collects CSP violations and console errors."""
    errors: list[str] = []
    browser_page.add_init_script(CSP_WATCH)
    browser_page.on(
        "console", lambda m: errors.append(m.text) if m.type in {"error", "warning"} else None
    )
    browser_page.on("pageerror", lambda e: errors.append(str(e)))
    yield browser_page, errors


@pytest.mark.django_db(transaction=True)
def test_the_pages_work_under_the_policy_in_chromium(
    figures: Snapshot,  # noqa: F811
    staff: Any,  # noqa: F811
    watched_page: tuple[Any, list[str]],
    live_server: Any,
) -> None:
    page, errors = watched_page
    staff.is_superuser = True  # the admin's user pages too
    staff.save()
    log_in(page, live_server, "/backoffice/analytics/")
    violations: dict[str, list[str]] = {}
    checks = {
        "/": "h1",
        "/backoffice/analytics/": ".chart svg",
        "/backoffice/analytics/rfm/": ".chart svg",
        "/backoffice/analytics/cohorts/": ".chart svg",
        "/backoffice/analytics/lifetime-value/": "#segment-form",
        "/backoffice/analytics/campaigns/": "h1",
        "/admin/": "#content",
        "/admin/auth/user/": "#result_list",
        "/admin/auth/user/add/": "#content-main form",
        "/api/v1/docs": ".opblock",
        "/api/v1/redoc": "[data-section-id^='operation/']",
    }
    for path, selector in checks.items():
        assert page.goto(f"{live_server.url}{path}").status == 200, path
        page.wait_for_selector(selector, timeout=15000)
        page.wait_for_load_state("networkidle")
        found = page.evaluate("window.__cspViolations")
        if found:
            violations[path] = found
    # the admin's own scripts run: "select all" marks the rows
    page.goto(f"{live_server.url}/admin/auth/user/")
    page.click("#action-toggle")
    assert page.locator("#result_list tr.selected").count() == 1
    # ReDoc shows Redocly's logo from their CDN and hides it when it does not load: the one
    # refusal expected (and no request leaves: tests/api/test_docs.py)
    redoc_logo = "img-src https://cdn.redoc.ly/redoc/logo-mini.svg"
    assert violations.pop("/api/v1/redoc", []) in ([], [redoc_logo])
    assert violations == {}
    refused = [e for e in errors if "Content Security Policy" in e]
    assert [e for e in refused if "cdn.redoc.ly/redoc/logo-mini.svg" not in e] == []
