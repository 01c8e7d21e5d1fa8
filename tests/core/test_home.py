"""The start page: what Kopilka is and where each kind of visitor goes, in Russian first."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

pytestmark = pytest.mark.django_db

LINKS = ["/admin/", "/backoffice/analytics/", "/api/v1/docs", "/api/v1/openapi.json", "/me/"]


def links(html: str) -> list[str]:
    return re.findall(r'<a href="([^"]+)"', html)


def test_the_start_page_speaks_russian_by_default() -> None:
    # when a browser with no language preference opens /
    response = Client().get("/")
    html = response.content.decode()
    # then it says in Russian what Kopilka is, and links the owner's and the integrator's tools
    assert response.status_code == 200
    assert '<html lang="ru">' in html
    assert "Копилка" in html and "Владельцу и сотрудникам" in html
    assert "Интегратору кассы или POS-системы" in html
    assert "Участникам программы" in html and "Экран кассира" in html  # coming soon: the till
    assert set(LINKS) <= set(links(html))


def test_the_start_page_in_english_for_an_english_browser() -> None:
    html = Client().get("/", headers={"Accept-Language": "en"}).content.decode()
    assert '<html lang="en">' in html
    assert "For the owner and staff" in html and "For members" in html
    assert "Владельцу" not in html
    assert set(LINKS) <= set(links(html))


def test_the_language_switch_remembers_the_choice() -> None:
    # given a visitor on the Russian page
    client = Client()
    assert "Владельцу" in client.get("/").content.decode()
    # when they press "English" (a form post, no script)
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    # then they are back on the start page, now in English, and stay there
    assert response.status_code == 302 and response["Location"] == "/"
    assert "For the owner and staff" in client.get("/").content.decode()
    html = client.get("/").content.decode()
    assert re.search(r'<button[^>]*name="language" value="ru"', html)  # and can switch back


def test_the_start_page_has_no_inline_script_or_style_and_its_css_ships() -> None:
    # The Content-Security-Policy allows scripts and styles only from our own static files.
    html = Client().get("/").content.decode()
    assert "<script" not in html
    assert "<style" not in html and " style=" not in html
    assert not re.search(r'(src|href|action)="(https?:)?//', html), "nothing from another site"
    stylesheet = re.search(r'<link rel="stylesheet" href="/static/([^"]+)"', html)
    assert stylesheet and finders.find(stylesheet.group(1)), "the stylesheet is a static file"
