"""Telegram through the bot (`KOPILKA_TELEGRAM_TOKEN`): `sendMessage` to the member's linked chat.

A chat that blocked the bot or no longer exists (403, 400 "chat not found") is a permanent
failure, and the link is removed so nothing more is queued for it; a flood limit (429), a 5xx or
a network error is retried with backoff. At least once: the Bot API has no idempotency key, so a
crash between its answer and our status update sends the message again after the lease.
"""

from django.utils import translation
from django.utils.translation import gettext

from kopilka.messaging.channels import OneByOne, Outgoing, SendFailed, Sent
from kopilka.messaging.telegram import TelegramError, bot_call

GONE = ("blocked", "chat not found", "user is deactivated", "kicked")


def telegram_text(message: Outgoing) -> str:
    if not message.unsubscribe_url:
        return message.text
    with translation.override(message.language):
        line = gettext("Unsubscribe: %(url)s") % {"url": message.unsubscribe_url}
    return f"{message.text}\n\n{line}"


class TelegramBot(OneByOne):
    name = "telegram"

    def send(self, message: Outgoing) -> Sent:
        params = {
            "chat_id": int(message.to),
            "text": telegram_text(message),
            "link_preview_options": {"is_disabled": True},
        }
        try:
            result = bot_call("sendMessage", params)
        except TelegramError as exc:
            gone = exc.code in (400, 403) and any(g in exc.description.lower() for g in GONE)
            if gone:
                from kopilka.messaging.bot import chat_unlink

                chat_unlink(int(message.to))
            raise SendFailed(str(exc), permanent=gone or exc.code == 400) from exc
        return Sent(
            self.name, str(result.get("message_id", "")) if isinstance(result, dict) else ""
        )
