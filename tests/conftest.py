"""Shared fixtures: a terminal with its key, an API client that speaks JSON, members with points."""

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, connections, transaction
from django.test import Client
from django.utils import translation

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.ledger.apply import plan_apply
from kopilka.ledger.checks import ledger_problems
from kopilka.ledger.plan import plan_purchase
from kopilka.ledger.services import member_lock
from kopilka.ledger.state import open_lots
from kopilka.members.models import Member
from kopilka.members.services import ConsentChoices, member_enroll
from kopilka.pos.terminals import (
    TerminalPrincipal,
    terminal_authenticate,
    terminal_create,
)
from kopilka.program.engine import Effect, Grant, Program, Spend, lot_dates
from kopilka.program.selectors import program_cache_clear

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL row locks and parallel connections"
)


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    program_cache_clear()
    yield
    program_cache_clear()
    # A request's language stays active in its thread after the response (LocaleMiddleware
    # does not undo it): the next test would read another language's messages.
    translation.deactivate()


@dataclass
class Api:
    """A JSON client for /api/v1 with a terminal's key."""

    client: Client
    key: str
    language: str = "en"

    def _headers(
        self, key: str | None, idempotency_key: str | None, language: str | None
    ) -> dict[str, str]:
        headers = {"Accept-Language": language or self.language}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    def get(
        self, path: str, *, key: str | None = "", language: str | None = None, **params: Any
    ) -> Any:
        return self.client.get(
            f"/api/v1{path}",
            params,
            headers=self._headers(self.key if key == "" else key, None, language),
        )

    def post(
        self,
        path: str,
        body: Any,
        *,
        idempotency_key: str | None = None,
        key: str | None = "",
        language: str | None = None,
        raw: bool = False,
    ) -> Any:
        return self.client.post(
            f"/api/v1{path}",
            body if raw else json.dumps(body),
            content_type="application/json",
            headers=self._headers(self.key if key == "" else key, idempotency_key, language),
        )


@pytest.fixture
def terminal(db: None) -> tuple[TerminalPrincipal, str]:
    _terminal, key = terminal_create(
        store_code="central", store_name="Центральный", actor=Actor.system("test")
    )
    principal = terminal_authenticate(key)
    assert principal is not None
    return principal, key


@pytest.fixture
def api(terminal: tuple[TerminalPrincipal, str]) -> Api:
    return Api(client=Client(), key=terminal[1])


def enroll(phone: str = "+79161234567", name: str = "Анна", **extra: Any) -> Member:
    return member_enroll(
        phone=phone,
        name=name,
        consents=ConsentChoices(personal_data=True),
        actor=Actor.system("test"),
        source="test",
        **extra,
    )


def receipt(*lines: tuple[str, str, str], store: str = "central", **extra: Any) -> dict[str, Any]:
    """receipt(("COF1", "2", "250.00")) -> a request body with lines of (sku, quantity, price)."""
    return {
        "store": store,
        "lines": [
            {"sku": sku, "name": sku, "category": "coffee", "quantity": qty, "price": price}
            for sku, qty, price in lines
        ],
        **extra,
    }


def points_move(
    member_id: int,
    *,
    earn: int = 0,
    spend: int = 0,
    at: datetime | None = None,
    program: Program | None = None,
) -> list[int]:
    """A purchase's movement of points without its receipt, through the planner and the database
    applier under the member's lock (in the caller's transaction, or one of its own); returns the
    new transfers' ids."""
    at = at or clock.now()
    effects: list[Effect] = [Spend(spend)] if spend else []
    if earn:
        available_at, expires_at = lot_dates(at, settings.TIME_ZONE, program or Program())
        effects.append(Grant(earn, available_at, expires_at))
    with transaction.atomic():
        member_lock(member_id)
        plan = plan_purchase(
            member_id=member_id,
            purchase_id=None,
            effects=effects,
            lots=open_lots(member_id),
            at=at,
            actor_label="system:test",
        )
        return plan_apply(plan)


def program_set(**fields: Any) -> None:
    """A new program version with these document fields (the rest default), in force from the
    clock's now (a test's frozen time included)."""
    from kopilka.program.services import program_version_create

    program_version_create(actor=Actor.system("test"), document=fields)
    program_cache_clear()  # the service clears it on commit; a test never commits


def assert_ledger_clean() -> None:
    assert ledger_problems() == []


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def browser_page(live_server: Any) -> Iterator[Any]:
    """A page in Debian's Chromium (never a browser Playwright downloads), Russian, 1280 × 900."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail("CI must install Debian's chromium (.ci/run does)")
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # around it are ordinary synchronous ones.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        page = browser.new_page(locale="ru-RU", viewport={"width": 1280, "height": 900})
        yield page
        browser.close()
        # ORM calls made while Playwright's loop runs get connections of their own context;
        # close them here, or PostgreSQL's test database cannot be dropped at the end.
        connections.close_all()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


def accessibility_violations(page: Any) -> list[str]:
    """axe-core's serious and critical findings on the page as it is (WCAG 2.1 A and AA: labels,
    contrast, names, landmarks), one line each."""
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
    found = Axe().run(page, options=options).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def staff_user(name: str, role: str = "marketer", **extra: Any) -> Any:
    """A staff user with a role (a group the staff migration makes)."""
    from django.contrib.auth.models import Group, User

    from kopilka.staff.roles import roles_make

    if not Group.objects.filter(name=role).exists():  # a transactional test flushed them
        from django.contrib.auth.models import Permission

        roles_make(Group, Permission)
    user = User.objects.create_user(name, is_staff=True, **extra)
    user.groups.add(Group.objects.get(name=role))
    return user
