"""Unsubscribe from a real advertising email: the file the email backend wrote, its link
opened in Chromium, the button pressed; the consent is withdrawn and the next advert stops."""

import re
from pathlib import Path
from typing import Any

import pytest

from kopilka.core.audit import Actor
from kopilka.members.services import consents_change
from kopilka.messaging.models import Message
from kopilka.messaging.services import message_queue, messages_send_due
from tests.conftest import enroll


@pytest.mark.django_db(transaction=True)
def test_a_member_unsubscribes_from_the_link_in_a_real_email(
    browser_page: Any, live_server: Any, settings: Any, tmp_path: Path
) -> None:
    settings.KOPILKA_VAR_DIR = tmp_path
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "email"
    settings.KOPILKA_PUBLIC_URL = live_server.url
    settings.KOPILKA_QUIET_HOURS = ""
    member = enroll("+79161234567", email="anna@example.ru")
    consents_change(
        member_id=member.pk,
        changes={"email_marketing": True},
        source="test",
        actor=Actor.system("test"),
    )

    def advert(occasion: str) -> Message:
        message = message_queue(
            member_id=member.pk, channel="email", purpose="marketing", trigger="campaign",
            occasion=occasion, text="Кофе дня за полцены до пятницы", subject="Новости кофейни",
        )  # fmt: skip
        assert message is not None
        return message

    advert("dec")
    assert messages_send_due().sent == 1
    (mail_file,) = Path(settings.EMAIL_FILE_PATH).iterdir()
    email = mail_file.read_text()
    header = re.search(r"^List-Unsubscribe: <(\S+)>$", email, re.MULTILINE)
    shown = re.search(r"Отписаться: (\S+)$", email, re.MULTILINE)
    assert header and shown and header.group(1) == shown.group(1)
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in email

    page = browser_page
    page.goto(shown.group(1))
    assert page.locator("h1").inner_text() == "Отписаться от рекламы?"
    page.get_by_role("button", name="Отписаться").click()
    page.wait_for_selector("text=Вы отписались")
    page.screenshot(path=str(tmp_path / "unsubscribed.png"))

    latest = member.consents.filter(channel="email").latest("recorded_at", "id")
    assert not latest.given and latest.source == "unsubscribe:link"
    later = advert("jan")
    messages_send_due()
    later.refresh_from_db()
    assert (later.status, later.reason) == ("suppressed", "unsubscribed")
