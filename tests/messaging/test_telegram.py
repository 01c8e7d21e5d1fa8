"""The Telegram bot and channel against a local fake Bot API (real HTTP): the deep link links a
chat, the bot answers balance and card, /subscribe and /stop record consent, notifications go to
the linked chat, and a chat that blocked the bot fails for good and is unlinked."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command

from kopilka.core import clock
from kopilka.members.models import Consent
from kopilka.messaging.bot import bot_poll
from kopilka.messaging.models import Message, TelegramLink
from kopilka.messaging.services import message_queue, messages_send_due
from kopilka.messaging.telegram import link_read, link_token, link_url
from tests.conftest import enroll, points_move
from tests.messaging.fake_providers import FakeTelegram, fake_telegram

NOON = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
CHAT = 777001


@pytest.fixture
def bot(settings: Any) -> Iterator[FakeTelegram]:
    with fake_telegram() as fake:
        settings.KOPILKA_TELEGRAM_TOKEN = fake.token
        settings.KOPILKA_TELEGRAM_API_URL = fake.url
        settings.KOPILKA_TELEGRAM_BOT = "kopilka_test_bot"
        settings.KOPILKA_CHANNELS = {
            **settings.KOPILKA_CHANNELS,
            "telegram": "kopilka.messaging.channels.telegram.TelegramBot",
        }
        settings.KOPILKA_QUIET_HOURS = ""
        yield fake


def converse(bot: FakeTelegram, text: str, chat: int = CHAT, language: str = "ru") -> str:
    bot.say(chat, text, language=language)
    before = len(bot.sent)
    bot.offset = bot_poll(bot.offset, wait=0)
    assert len(bot.sent) == before + 1, "the bot answers every message once"
    answer = bot.sent[-1]
    assert answer["chat_id"] == chat
    return str(answer["text"])


def test_a_link_token_names_its_member_until_it_expires(db: None) -> None:
    with clock.frozen_at(NOON):
        token = link_token(42, days=30)
        assert len(token) <= 64 and all(c.isalnum() or c in "-_" for c in token)
        read = link_read(token)
        assert read is not None and read.member_id == 42
        assert link_read(token.replace(token[-3:], "AAA")) is None  # tampered
        assert link_read(link_token(43)[:-20] + token[-20:]) is None  # another member's mac
        assert link_read("garbage") is None and link_read("1-2-3") is None
    with clock.frozen_at(NOON + timedelta(days=31)):
        assert link_read(token) is None


def test_the_deep_link_links_the_chat_and_the_bot_answers_balance_and_card(
    db: None, bot: FakeTelegram
) -> None:
    member = enroll("+79161234567")
    points_move(member.pk, earn=300, at=clock.now() - timedelta(days=30))
    url = link_url(member.pk)
    assert url.startswith("https://t.me/kopilka_test_bot?start=")
    token = url.split("start=", 1)[1]

    assert "личном кабинете" in converse(bot, "/balance")  # not linked yet: how to link
    linked = converse(bot, f"/start {token}")
    assert "Карта подключена" in linked and "300" in linked
    link = TelegramLink.objects.get(member=member)
    assert link.chat_id == CHAT and link.username == "anna"
    assert "300" in converse(bot, "Баланс")
    card = converse(bot, "/card")
    assert member.cards.get().number in card
    english = converse(bot, "/balance", language="en")
    assert "Your balance: 300 points." in english

    converse(bot, f"/start {token}")  # the same link again: still one link
    assert TelegramLink.objects.filter(member=member).count() == 1


def test_a_chat_linked_to_another_member_moves_and_a_bad_link_links_nothing(
    db: None, bot: FakeTelegram
) -> None:
    anna, boris = enroll("+79161234567"), enroll("+79161234568", name="Борис")
    converse(bot, f"/start {link_token(anna.pk)}")
    assert "устарела" in converse(bot, "/start 1-2-AAAAAAAAAAAAAAAAAAAA")
    assert TelegramLink.objects.get().member == anna
    converse(bot, f"/start {link_token(boris.pk)}")
    assert list(TelegramLink.objects.values_list("member_id", flat=True)) == [boris.pk]


def test_subscribe_and_stop_record_consent_with_its_source_and_stop_unlinks(
    db: None, bot: FakeTelegram
) -> None:
    member = enroll("+79161234567")
    converse(bot, f"/start {link_token(member.pk)}")
    converse(bot, "/subscribe")
    given = Consent.objects.get(member=member, purpose="marketing", channel="telegram")
    assert given.given and given.source == "telegram:bot"
    assert "Больше не пишем" in converse(bot, "СТОП")
    latest = Consent.objects.filter(member=member, channel="telegram").latest("recorded_at", "id")
    assert not latest.given and latest.source == "telegram:stop"
    assert not TelegramLink.objects.exists()
    assert "личном кабинете" in converse(bot, "/balance")


def test_notifications_go_to_the_linked_chat_and_a_blocked_bot_fails_for_good(
    db: None, bot: FakeTelegram
) -> None:
    member = enroll("+79161234567")
    unlinked = message_queue(
        member_id=member.pk, channel="telegram", purpose="service", trigger="points_expiring",
        occasion="a", text="Баллы сгорят",
    )  # fmt: skip
    messages_send_due()
    assert unlinked is not None
    unlinked.refresh_from_db()
    assert (unlinked.status, unlinked.reason) == ("suppressed", "no_address")

    converse(bot, f"/start {link_token(member.pk)}")
    sent_before = len(bot.sent)
    message = message_queue(
        member_id=member.pk, channel="telegram", purpose="service", trigger="points_expiring",
        occasion="b", text="120 баллов можно потратить до 14.12.2026.",
    )  # fmt: skip
    assert message is not None
    report = messages_send_due()
    assert report.sent == 1
    (delivered,) = bot.sent[sent_before:]
    assert delivered["chat_id"] == CHAT
    assert delivered["text"] == "120 баллов можно потратить до 14.12.2026."
    message.refresh_from_db()
    assert (message.status, message.provider, message.address) == ("sent", "telegram", str(CHAT))
    assert message.provider_message_id

    bot.next_answers = [(429, {"ok": False, "error_code": 429, "description": "Too Many Requests",
                               "parameters": {"retry_after": 3}})]  # fmt: skip
    flood = message_queue(
        member_id=member.pk, channel="telegram", purpose="service", trigger="points_expiring",
        occasion="c", text="Ещё одно",
    )  # fmt: skip
    assert flood is not None
    assert messages_send_due().retried == 1
    flood.refresh_from_db()
    assert flood.status == "queued" and "429" in flood.reason

    bot.next_answers = [
        (403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"})
    ]  # fmt: skip
    Message.objects.filter(pk=flood.pk).update(due_at=clock.now())
    assert messages_send_due().failed == 1
    flood.refresh_from_db()
    assert flood.status == "failed" and "blocked" in flood.reason
    assert not TelegramLink.objects.exists(), "a chat that blocked the bot is unlinked"


def test_advertising_on_telegram_carries_the_unsubscribe_link(db: None, bot: FakeTelegram) -> None:
    member = enroll("+79161234567")
    converse(bot, f"/start {link_token(member.pk)}")
    converse(bot, "/subscribe")
    message_queue(
        member_id=member.pk, channel="telegram", purpose="marketing", trigger="campaign",
        occasion="x", text="Кофе дня за полцены",
    )  # fmt: skip
    assert messages_send_due().sent == 1
    text = bot.sent[-1]["text"]
    assert text.startswith("Кофе дня за полцены\n\nОтписаться: http") and "/u/" in text


def test_the_bot_command_needs_a_token(settings: Any) -> None:
    settings.KOPILKA_TELEGRAM_TOKEN = ""
    with pytest.raises(Exception, match="KOPILKA_TELEGRAM_TOKEN"):
        call_command("telegram_bot", "--once")


def test_the_bot_command_polls_once(db: None, bot: FakeTelegram) -> None:
    bot.say(CHAT, "/start")
    call_command("telegram_bot", "--once")
    assert "личном кабинете" in bot.sent[-1]["text"]
