"""One-click unsubscribe: a signed link per member and channel.

The link carries who and which channel, signed with the secret key (nothing to store, nothing
to guess): `{KOPILKA_PUBLIC_URL}/u/<member in base 36><channel letter><12-character MAC>`, short
enough for an SMS. Following it shows a confirmation page, and a POST to it (the page's button,
or a mail client's RFC 8058 one-click POST) withdraws the channel's advertising consent. Links
of the earlier long form (`/unsubscribe/<Django signed token>`) in mail already sent still work.
"""

from django.conf import settings
from django.core import signing
from django.urls import reverse

from kopilka.core.signed import b36, mac_matches, short_mac

SALT = "kopilka.messaging.unsubscribe"
PURPOSE = "unsubscribe"
LETTERS = {"sms": "s", "email": "e", "telegram": "t"}
CHANNELS = {letter: channel for channel, letter in LETTERS.items()}
MAC_LENGTH = 12


def unsubscribe_token(member_id: int, channel: str) -> str:
    payload = f"{b36(member_id)}{LETTERS[channel]}"
    return payload + short_mac(PURPOSE, payload, MAC_LENGTH)


def _short_read(token: str) -> tuple[int, str] | None:
    payload, mac = token[:-MAC_LENGTH], token[-MAC_LENGTH:]
    if len(payload) < 2 or payload[-1] not in CHANNELS or not mac_matches(PURPOSE, payload, mac):
        return None
    try:
        return int(payload[:-1], 36), CHANNELS[payload[-1]]
    except ValueError:
        return None


def unsubscribe_read(token: str) -> tuple[int, str] | None:
    if len(token) > MAC_LENGTH and ":" not in token:
        return _short_read(token)
    try:
        member_id, channel = signing.loads(token, salt=SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(member_id, int) or not isinstance(channel, str):
        return None
    return member_id, channel


def unsubscribe_url(member_id: int, channel: str) -> str:
    path = reverse("unsubscribe-short", args=[unsubscribe_token(member_id, channel)])
    return f"{settings.KOPILKA_PUBLIC_URL}{path}"
