"""Short signed tokens for links a member follows or types (an SMS's unsubscribe link, a
Telegram deep link): an HMAC of the payload under the secret key and a purpose, cut to what a
link can carry. Nothing is stored; a token cannot be forged or moved to another payload."""

import base64
import hashlib
import hmac

from django.conf import settings

DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def b36(number: int) -> str:
    if number < 0:
        raise ValueError("b36 takes a natural number")
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = DIGITS[rest] + out
        if number == 0:
            return out


def short_mac(purpose: str, payload: str, length: int) -> str:
    """`length` URL-safe characters (6 bits each) of an HMAC-SHA256 of `payload` for `purpose`."""
    key = hashlib.sha256(f"kopilka.{purpose}:{settings.SECRET_KEY}".encode()).digest()
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:length]


def mac_matches(purpose: str, payload: str, mac: str) -> bool:
    return hmac.compare_digest(mac, short_mac(purpose, payload, len(mac) or 1))
