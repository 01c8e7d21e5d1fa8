"""Telegram: the Bot API over plain HTTP, and the deep link that links a member's chat.

The link is `https://t.me/<KOPILKA_TELEGRAM_BOT>?start=<token>`: the token names the member and
the last day it is valid, signed with the secret key (nothing stored, nothing to guess; Telegram
passes it to the bot as `/start <token>`, at most 64 characters of `A-Za-z0-9_-`). The portal
shows a link valid for `LINK_DAYS`; printed materials may print one valid longer.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
from django.conf import settings

from kopilka.core import clock
from kopilka.core.signed import b36, mac_matches, short_mac

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
LINK_DAYS = 30
PURPOSE = "telegram.link"


class TelegramError(Exception):
    """The Bot API refused (`code` is its error_code; 0: it could not be reached)."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(f"Telegram {code}: {description}")
        self.code, self.description, self.retry_after = code, description, retry_after


def bot_call(method: str, params: dict[str, Any], *, timeout: float | None = None) -> Any:
    """One Bot API method; its `result`, or TelegramError."""
    url = f"{settings.KOPILKA_TELEGRAM_API_URL}/bot{settings.KOPILKA_TELEGRAM_TOKEN}/{method}"
    limit = TIMEOUT if timeout is None else httpx.Timeout(timeout + 10.0, connect=5.0)
    try:
        response = httpx.post(url, json=params, timeout=limit)
    except httpx.HTTPError as exc:
        raise TelegramError(0, f"{type(exc).__name__}: {exc}") from exc
    try:
        body = response.json()
    except ValueError:
        raise TelegramError(response.status_code, "not JSON") from None
    if not isinstance(body, dict):
        raise TelegramError(response.status_code, "unexpected answer")
    if body.get("ok") is True:
        return body.get("result")
    retry = body.get("parameters", {}).get("retry_after") if body.get("parameters") else None
    raise TelegramError(
        int(body.get("error_code") or response.status_code),
        str(body.get("description") or "refused"),
        int(retry) if isinstance(retry, int) else None,
    )


def link_token(member_id: int, *, days: int = LINK_DAYS) -> str:
    until = clock.business_date(clock.now()) + timedelta(days=days)
    payload = f"{b36(member_id)}-{b36(until.toordinal())}"
    return f"{payload}-{short_mac(PURPOSE, payload, 20)}"


@dataclass(frozen=True)
class LinkRead:
    member_id: int
    valid_until: date


def link_read(token: str) -> LinkRead | None:
    """The member a token names, if it is ours and still valid; None otherwise."""
    parts = token.strip().split("-", 2)
    if len(parts) != 3:
        return None
    member, until, mac = parts
    if len(mac) != 20 or not mac_matches(PURPOSE, f"{member}-{until}", mac):
        return None
    try:
        read = LinkRead(int(member, 36), date.fromordinal(int(until, 36)))
    except ValueError:
        return None
    if read.valid_until < clock.business_date(clock.now()):
        return None
    return read


def link_url(member_id: int, *, days: int = LINK_DAYS) -> str:
    """The deep link a member opens to link their Telegram chat ("" with no bot configured)."""
    if not settings.KOPILKA_TELEGRAM_BOT:
        return ""
    return f"https://t.me/{settings.KOPILKA_TELEGRAM_BOT}?start={link_token(member_id, days=days)}"
