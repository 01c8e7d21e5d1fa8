"""The digital card: a QR token that lasts a minute or two and resolves at the POS API, and the
card number as a barcode for plain scanners."""

from datetime import timedelta

import pytest

from kopilka.core import clock
from kopilka.members.card_token import card_token, card_token_read
from tests.conftest import Api, enroll
from tests.portal.test_pages import logged_in

pytestmark = pytest.mark.django_db


def test_a_token_is_fresh_for_its_minute_and_the_next_and_cannot_be_forged() -> None:
    now = clock.now()
    token = card_token(42, now)
    assert card_token_read(token, now) == 42
    assert card_token_read(token, now + timedelta(seconds=60)) == 42
    assert card_token_read(token, now + timedelta(seconds=120)) is None, "a screenshot expires"
    assert card_token_read(token, now - timedelta(seconds=60)) is None
    member, minute, mac = token.split(".")
    assert card_token_read(f"{int(member, 36) + 1:x}.{minute}.{mac}", now) is None
    assert card_token_read(token[:-1] + ("A" if token[-1] != "A" else "B"), now) is None
    assert card_token_read("", now) is None and card_token_read("a.b", now) is None


def test_the_till_finds_the_member_by_the_qr_until_it_rotates(api: Api) -> None:
    anna = enroll("+79161234567", name="Анна")
    token = card_token(anna.pk)
    found = api.get(f"/members/lookup?qr={token}")
    assert found.status_code == 200 and found.json()["id"] == anna.pk
    with clock.frozen_at(clock.now() + timedelta(minutes=3)):
        stale = api.get(f"/members/lookup?qr={token}")
    assert stale.status_code == 404 and stale.json()["error"]["code"] == "member_not_found"
    assert api.get("/members/lookup?qr=nonsense").status_code == 404
    both = api.get(f"/members/lookup?qr={token}&phone=%2B79161234567")
    assert both.status_code == 422
    assert api.get("/members/lookup?qr=" + "x" * 65).status_code == 422


def test_the_card_page_shows_the_qr_and_the_barcode() -> None:
    anna = enroll("+79161234567")
    client = logged_in(anna)
    page = client.get("/me/card/").content.decode()
    assert 'src="/me/card/qr.svg"' in page and 'src="/me/card/barcode.svg"' in page
    qr = client.get("/me/card/qr.svg")
    assert qr["Content-Type"] == "image/svg+xml" and qr["Cache-Control"] == "no-store"
    assert b"<svg" in qr.content
    later = clock.now() + timedelta(minutes=2)
    with clock.frozen_at(later):
        assert client.get("/me/card/qr.svg").content != qr.content, "the code rotates"
    barcode = client.get("/me/card/barcode.svg")
    assert barcode.status_code == 200 and b"<svg" in barcode.content and b"<rect" in barcode.content
    from tests.portal.test_pages import Client

    assert Client().get("/me/card/qr.svg").url == "/login/"
