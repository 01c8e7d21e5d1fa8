"""The digital card's QR code: a short-lived signed token, so a screenshot shared with a friend
stops working within two minutes while the printed card number keeps working.

`<member in base 36>.<minute in base 36>.<16-character MAC>`: made for the current minute,
accepted during it and the next (a till scanning at the turn of a minute still reads it).
"""

from datetime import datetime

from kopilka.core import clock
from kopilka.core.signed import b36, mac_matches, short_mac

PURPOSE = "member.card"
MAC_LENGTH = 16


def _minute(at: datetime) -> int:
    return int(at.timestamp() // 60)


def card_token(member_id: int, at: datetime | None = None) -> str:
    payload = f"{b36(member_id)}.{b36(_minute(at or clock.now()))}"
    return f"{payload}.{short_mac(PURPOSE, payload, MAC_LENGTH)}"


def card_token_read(token: str, at: datetime | None = None) -> int | None:
    """The member a token names while it is fresh; None for a stale, forged or garbled one."""
    parts = token.strip().split(".")
    if len(parts) != 3 or len(parts[2]) != MAC_LENGTH:
        return None
    member, minute, mac = parts
    if not mac_matches(PURPOSE, f"{member}.{minute}", mac):
        return None
    try:
        member_id, made = int(member, 36), int(minute, 36)
    except ValueError:
        return None
    now = _minute(at or clock.now())
    return member_id if now - 1 <= made <= now else None
