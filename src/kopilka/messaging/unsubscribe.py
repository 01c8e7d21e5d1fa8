"""One-click unsubscribe: a signed link per member and channel.

The link carries who and which channel, signed with the secret key (nothing to store, nothing
to guess); following it shows a confirmation page, and a POST to it (the page's button, or a
mail client's RFC 8058 one-click POST) withdraws the channel's advertising consent.
"""

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "kopilka.messaging.unsubscribe"


def unsubscribe_token(member_id: int, channel: str) -> str:
    return signing.dumps([member_id, channel], salt=SALT, compress=True)


def unsubscribe_read(token: str) -> tuple[int, str] | None:
    try:
        member_id, channel = signing.loads(token, salt=SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(member_id, int) or not isinstance(channel, str):
        return None
    return member_id, channel


def unsubscribe_url(member_id: int, channel: str) -> str:
    path = reverse("unsubscribe", args=[unsubscribe_token(member_id, channel)])
    return f"{settings.KOPILKA_PUBLIC_URL}{path}"
