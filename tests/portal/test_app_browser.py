"""The member's page as an installed web app, in a real Chromium: a manifest with icons, a
service worker that keeps the card from the last visit and shows it offline, and forgets it at
logout."""

import json
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import enroll
from tests.portal.test_pages import logged_in

KEPT = (
    "caches.open('kopilka-card').then(c => c.keys()).then(k => k.map(r => new URL(r.url).pathname))"
)


@pytest.mark.django_db
def test_the_manifest_names_the_app_and_its_icons_exist() -> None:
    client = Client()
    answer = client.get("/manifest.webmanifest")
    assert answer["Content-Type"] == "application/manifest+json"
    manifest = json.loads(answer.content)
    assert manifest["name"] == "Копилка: моя карта" and manifest["start_url"] == "/me/"
    assert manifest["display"] == "standalone" and manifest["scope"] == "/me/"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    assert any(icon["purpose"] == "maskable" for icon in manifest["icons"])
    worker = client.get("/me/sw.js")
    assert (
        worker["Content-Type"].startswith("text/javascript") and b"kopilka-card" in worker.content
    )
    page = client.get("/login/").content.decode()
    assert 'rel="manifest" href="/manifest.webmanifest"' in page and "data-member" not in page


@pytest.mark.django_db(transaction=True)
def test_the_card_shows_offline_after_a_visit_and_is_forgotten_at_logout(
    browser_page: Any, live_server: Any
) -> None:
    member = enroll("+79161234567", name="Анна")
    session = logged_in(member).cookies[settings.SESSION_COOKIE_NAME].value
    page = browser_page
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}/me/card/")
    assert page.evaluate("navigator.serviceWorker.ready.then(r => r.active.state)") in (
        "activating",
        "activated",
    )
    page.reload()  # now under the worker: the card, its codes and styles are kept
    page.wait_for_load_state("networkidle")
    number = page.locator(".card-number").inner_text()
    for _ in range(50):  # the worker stores the copies just after it answers
        kept = page.evaluate(KEPT)
        if {"/me/card/", "/me/card/barcode.svg"} <= set(kept):
            break
        page.wait_for_timeout(100)
    assert {"/me/card/", "/me/card/barcode.svg"} <= set(kept), kept

    page.context.set_offline(True)
    page.goto(f"{live_server.url}/me/")  # offline, any of the member's pages opens the card
    assert page.locator(".card-number").inner_text() == number
    assert page.locator("#offline-note").is_visible()
    assert page.locator(".barcode").evaluate("img => img.complete && img.naturalWidth > 0")
    page.context.set_offline(False)

    page.goto(f"{live_server.url}/me/")
    page.get_by_role("button", name="Выйти").click()
    page.wait_for_url("**/login/")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("caches.keys()") == []
    assert page.evaluate("navigator.serviceWorker.getRegistrations().then(r => r.length)") == 0
