"""The Telegram bot's side of the conversation: `manage.py telegram_bot` polls the Bot API
(`getUpdates`) and answers each message in the member's language.

- `/start <token>` (the deep link) links the chat to the member the token names and answers the
  balance; a chat linked to someone else before is moved.
- `/balance` (or «Баланс»), `/card`: the balance with what expires soonest, the card's number.
- `/subscribe`: the member's consent to advertising on Telegram, recorded with source
  `telegram:bot` (the chat and the time prove it); `/stop` (or «СТОП»/«STOP») withdraws it and
  unlinks the chat: nothing more is sent to it.

Updates are confirmed by the next poll's offset; an update handled again after a crash answers
again and changes nothing more (linking and unlinking are idempotent).
"""

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from kopilka.core import clock
from kopilka.core.audit import Actor, audit_record
from kopilka.ledger.selectors import member_balance
from kopilka.members.models import Member
from kopilka.members.selectors import member_card_number
from kopilka.members.services import consents_change
from kopilka.messaging.models import TelegramLink
from kopilka.messaging.telegram import TelegramError, bot_call, link_read
from kopilka.messaging.texts import valid_through

log = logging.getLogger(__name__)
ACTOR = Actor.system("telegram_bot")
STOP_WORDS = {"/stop", "stop", "стоп", "отписаться", "/unsubscribe"}
BALANCE_WORDS = {"/balance", "баланс", "balance"}


@dataclass(frozen=True)
class Incoming:
    chat_id: int
    text: str
    username: str
    language: str

    @classmethod
    def of(cls, update: dict[str, Any]) -> "Incoming | None":
        message = update.get("message")
        if not isinstance(message, dict) or not isinstance(message.get("text"), str):
            return None
        chat, sender = message.get("chat") or {}, message.get("from") or {}
        if chat.get("type") != "private" or not isinstance(chat.get("id"), int):
            return None  # the bot talks to members one to one
        code = str(sender.get("language_code") or "")[:2]
        language = code if code in {"ru", "en"} else settings.LANGUAGE_CODE
        return cls(chat["id"], message["text"].strip(), str(sender.get("username") or ""), language)


def chat_unlink(chat_id: int) -> int:
    return TelegramLink.objects.filter(chat_id=chat_id).delete()[0]


def _linked(chat_id: int) -> Member | None:
    link = TelegramLink.objects.select_related("member").filter(chat_id=chat_id).first()
    if link is None or link.member.status != Member.Status.ACTIVE:
        return None
    return link.member


def _how_to_link() -> str:
    return _(
        "To link your loyalty card, open the Telegram link in your account on the website or "
        "scan the QR code at the till."
    )


def _balance(member: Member, language: str) -> str:
    balance = member_balance(member.pk, expiring_limit=1)
    text = _("Your balance: %(points)s points.") % {"points": balance.available}
    if balance.pending:
        text += " " + _("%(points)s more become available soon.") % {"points": balance.pending}
    if balance.expiring:
        first = balance.expiring[0]
        text += " " + _("%(points)s points can be spent until %(day)s.") % {
            "points": first.points,
            "day": valid_through(first.expires_at, language),
        }
    return text


@transaction.atomic
def _link(incoming: Incoming, token: str) -> str:
    read = link_read(token)
    member = Member.objects.filter(pk=read.member_id).first() if read else None
    if member is None or member.status != Member.Status.ACTIVE:
        return _("This link has expired. Open a new one in your account.")
    TelegramLink.objects.filter(chat_id=incoming.chat_id).exclude(member=member).delete()
    TelegramLink.objects.update_or_create(
        member=member,
        defaults={
            "chat_id": incoming.chat_id,
            "username": incoming.username,
            "linked_at": clock.now(),
        },
    )
    audit_record(
        actor=ACTOR,
        action="member.telegram_link",
        target_type="member",
        target_id=member.pk,
        member_id=member.pk,
        data={"chat_id": incoming.chat_id},
    )
    hello = _("Your card is linked: you will get your messages here.")
    commands = _("/balance: your balance, /card: your card, /stop: no more messages.")
    return f"{hello} {_balance(member, incoming.language)}\n\n{commands}"


def _stop(incoming: Incoming) -> str:
    member = _linked(incoming.chat_id)
    if member is not None:
        with transaction.atomic():
            consents_change(
                member_id=member.pk,
                changes={"telegram_marketing": False},
                source="telegram:stop",
                actor=ACTOR,
            )
            chat_unlink(incoming.chat_id)
    return _("Done: no more messages here. To link your card again, open the link in your account.")


def answer(incoming: Incoming) -> str:
    """What the bot says to a member's message (and what it records on the way)."""
    word, _space, rest = incoming.text.partition(" ")
    word = word.split("@", 1)[0].lower()  # "/start@kopilka_bot" in a client that adds it
    if word == "/start" and rest.strip():
        return _link(incoming, rest.strip())
    if word in STOP_WORDS:
        return _stop(incoming)
    member = _linked(incoming.chat_id)
    if member is None:
        return _how_to_link()
    if word in BALANCE_WORDS or word == "/start":
        return _balance(member, incoming.language)
    if word == "/card":
        number = member_card_number(member)
        if number is None:
            return _("You have no active card; ask at the till.")
        return _("Your card: %(number)s. Name it or show this message at the till.") % {
            "number": number
        }
    if word == "/subscribe":
        consents_change(
            member_id=member.pk,
            changes={"telegram_marketing": True},
            source="telegram:bot",
            actor=ACTOR,
        )
        return _("You will get our offers here. /stop turns them off.")
    return _("/balance: your balance, /card: your card, /stop: no more messages.")


def bot_poll(offset: int, *, wait: int = 25) -> int:
    """One long poll: answer every update that came; returns the next offset."""
    updates = bot_call(
        "getUpdates",
        {"offset": offset, "timeout": wait, "allowed_updates": ["message"]},
        timeout=wait,
    )
    for update in updates or []:
        offset = max(offset, int(update["update_id"]) + 1)
        incoming = Incoming.of(update)
        if incoming is None:
            continue
        with translation.override(incoming.language):
            text = answer(incoming)
        try:
            bot_call("sendMessage", {"chat_id": incoming.chat_id, "text": text})
        except TelegramError as exc:
            log.warning("telegram: no answer to chat %s: %s", incoming.chat_id, exc)
    return offset
