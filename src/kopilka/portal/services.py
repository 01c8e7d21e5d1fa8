"""Login to the member's page by a one-time code: asked for a phone, sent through the member's
channel (the linked Telegram chat, else SMS), checked once.

A code is 6 digits, stored as an HMAC (never the digits), valid `CODE_MINUTES`, dead after
`TRIES` wrong tries; a phone gets at most `CODES_PER_PHONE` codes and an IP address
`KOPILKA_LOGIN_CODES_PER_IP` in `WINDOW`. An unregistered phone is answered exactly like a
registered one (a row is written and nothing is sent), so the page tells no one who is a member.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kopilka.core import clock
from kopilka.core.errors import DomainError
from kopilka.core.phones import InvalidPhone, normalize_phone
from kopilka.members.models import Member
from kopilka.messaging.models import Message, TelegramLink
from kopilka.messaging.services import message_queue
from kopilka.portal.models import LoginCode

CODE_MINUTES = 5
TRIES = 5
CODES_PER_PHONE = 3
WINDOW = timedelta(minutes=15)


class LoginRefused(DomainError):
    code = "login_refused"


def _hash(phone: str, code: str) -> str:
    key = hashlib.sha256(f"kopilka.portal.login:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def phone_read(raw: str) -> str:
    try:
        return normalize_phone(raw)
    except InvalidPhone:
        message = _("Not a phone number.")
        raise LoginRefused(message, fields={"phone": message}) from None


@transaction.atomic
def login_code_request(*, phone: str, ip: str | None) -> None:
    """Send a code to the member with this phone (if any), within the limits."""
    now = clock.now()
    recent = LoginCode.objects.filter(created_at__gt=now - WINDOW)
    if recent.filter(phone=phone).count() >= CODES_PER_PHONE or (
        ip and recent.filter(ip=ip).count() >= settings.KOPILKA_LOGIN_CODES_PER_IP
    ):
        raise LoginRefused(
            _("Too many codes were asked. Try again in %(minutes)s minutes.")
            % {"minutes": int(WINDOW.total_seconds() // 60)}
        )
    member = Member.objects.filter(phone=phone, status=Member.Status.ACTIVE).first()
    code = f"{secrets.randbelow(10**6):06d}"
    login = LoginCode.objects.create(
        phone=phone,
        member=member,
        code_hash=_hash(phone, code),
        created_at=now,
        expires_at=now + timedelta(minutes=CODE_MINUTES),
        ip=ip,
    )
    if member is None:
        return
    linked = TelegramLink.objects.filter(member=member).exists()
    with translation.override(settings.LANGUAGE_CODE):
        text = _("Kopilka login code: %(code)s. Do not tell it to anyone.") % {"code": code}
    message_queue(
        member_id=member.pk,
        channel=Message.Channel.TELEGRAM if linked else Message.Channel.SMS,
        purpose=Message.Purpose.SERVICE,
        trigger="login_code",
        occasion=str(login.pk),
        text=text,
        language=settings.LANGUAGE_CODE,
    )


WRONG = gettext_noop("The code is wrong or no longer valid. Ask for a new one.")


def login_code_check(*, phone: str, code: str) -> Member:
    """The member the code logs in; LoginRefused for a wrong, used, expired or worn-out code."""
    member = _code_try(phone, code.strip())
    if member is None:
        raise LoginRefused(_(WRONG), fields={"code": _(WRONG)})
    return member


@transaction.atomic
def _code_try(phone: str, code: str) -> Member | None:
    """Count a try of the phone's latest live code (committed, right or wrong)."""
    now = clock.now()
    login = (
        LoginCode.objects.select_for_update()
        .filter(phone=phone, used_at__isnull=True, expires_at__gt=now)
        .order_by("-created_at", "-pk")
        .first()
    )
    if login is None or login.tries >= TRIES:
        return None
    login.tries += 1
    member = login.member
    right = hmac.compare_digest(login.code_hash, _hash(phone, code))
    if right and member is not None and member.status == Member.Status.ACTIVE:
        login.used_at = now
        login.save(update_fields=["tries", "used_at"])
        return member
    login.save(update_fields=["tries"])
    return None
