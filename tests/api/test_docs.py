"""The API documentation pages work without internet: Swagger UI and ReDoc from our own static files."""

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

SCREENSHOTS = Path(os.environ.get("KOPILKA_SCREENSHOTS", "var/screenshots"))


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/docs", "/api/v1/redoc"])
def test_the_docs_pages_load_nothing_from_elsewhere(path: str) -> None:
    page = Client().get(path).content.decode()
    assert "/static/ninja/" in page
    assert "cdn.jsdelivr.net" not in page and "https://" not in page


def offline(page: Any, origin: str) -> list[str]:
    """Abort every request that does not go to the test server; return the refused URLs."""
    refused: list[str] = []
    host = urlsplit(origin).hostname

    def route(request_route: Any) -> None:
        if urlsplit(request_route.request.url).hostname in {host, "127.0.0.1", "localhost"}:
            request_route.continue_()
        else:
            refused.append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    return refused


def operations_in_schema() -> int:
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    return sum(len(methods) for methods in paths.values())


@pytest.mark.django_db(transaction=True)
def test_swagger_ui_lists_every_operation_without_internet(
    browser_page: Any,
    live_server: Any,
) -> None:
    # given a browser that cannot reach anything but the server
    page = browser_page
    refused = offline(page, live_server.url)
    # when the integrator opens the API docs
    response = page.goto(f"{live_server.url}/api/v1/docs")
    # then Swagger UI renders every operation of the schema, and asked nothing from outside
    assert response.status == 200
    page.wait_for_selector(".opblock", timeout=15000)
    assert page.locator(".opblock").count() == operations_in_schema() >= 7
    assert "Kopilka API" in page.locator(".info .title").inner_text()
    page.locator(".opblock-summary", has_text="/api/v1/purchases").first.click()
    page.wait_for_selector(".opblock-body")
    assert refused == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "api-docs-swagger.png"), full_page=False)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SCREENSHOTS / "api-docs-swagger-390.png"), full_page=False)


@pytest.mark.django_db(transaction=True)
def test_redoc_lists_every_operation_without_internet(
    browser_page: Any,
    live_server: Any,
) -> None:
    page = browser_page
    refused = offline(page, live_server.url)
    assert page.goto(f"{live_server.url}/api/v1/redoc").status == 200
    page.wait_for_selector("[data-section-id^='operation/']", timeout=15000)
    assert page.locator("[data-section-id^='operation/']").count() == operations_in_schema()
    assert refused == []  # ReDoc's Redocly logo is refused by the CSP before any request
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "api-docs-redoc.png"), full_page=False)
