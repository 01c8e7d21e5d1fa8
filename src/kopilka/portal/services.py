"""Login to the member's page and joining the program, both by a one-time code: asked for a
phone, sent through the member's channel (the linked Telegram chat, else SMS; to join, SMS to the
phone given, before any account exists), checked once.

A code is 6 digits, stored as an HMAC (never the digits), valid `CODE_MINUTES`, dead after
`TRIES` wrong tries; a phone gets at most `CODES_PER_PHONE` codes and an IP address
`KOPILKA_LOGIN_CODES_PER_IP` in `WINDOW`. An unregistered phone is answered exactly like a
registered one (a row is written and nothing is sent), so the page tells no one who is a member.
"""

import hashlib
import hmac
import secrets
from dataclasses import asdict, dataclass, fields
from datetime import timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.core.errors import DomainError
from kopilka.core.phones import InvalidPhone, normalize_phone
from kopilka.members.models import Member
from kopilka.members.services import ConsentChoices, ConsentEvidence, MemberExists, member_enroll
from kopilka.messaging.models import Message, TelegramLink
from kopilka.messaging.services import message_queue
from kopilka.portal.emails import email_link_send
from kopilka.portal.models import LoginCode, PasswordTry

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


def _limits_check(phone: str, ip: str | None) -> None:
    recent = LoginCode.objects.filter(created_at__gt=clock.now() - WINDOW)
    if recent.filter(phone=phone).count() >= CODES_PER_PHONE or (
        ip and recent.filter(ip=ip).count() >= settings.KOPILKA_LOGIN_CODES_PER_IP
    ):
        raise LoginRefused(
            _("Too many codes were asked. Try again in %(minutes)s minutes.")
            % {"minutes": int(WINDOW.total_seconds() // 60)}
        )


def _code_new(
    phone: str, purpose: str, member: Member | None, ip: str | None
) -> tuple[LoginCode, str]:
    now = clock.now()
    code = f"{secrets.randbelow(10**6):06d}"
    login = LoginCode.objects.create(
        phone=phone,
        purpose=purpose,
        member=member,
        code_hash=_hash(phone, code),
        created_at=now,
        expires_at=now + timedelta(minutes=CODE_MINUTES),
        ip=ip,
    )
    return login, code


@transaction.atomic
def login_code_request(*, phone: str, ip: str | None) -> None:
    """Send a code to the member with this phone (if any), within the limits."""
    _limits_check(phone, ip)
    member = Member.objects.filter(phone=phone, status=Member.Status.ACTIVE).first()
    login, code = _code_new(phone, LoginCode.Purpose.LOGIN, member, ip)
    if member is None:
        return
    linked = TelegramLink.objects.filter(member=member).exists()
    with translation.override(member.language):
        text = _("Kopilka login code: %(code)s. Do not tell it to anyone.") % {"code": code}
    message_queue(
        member_id=member.pk,
        channel=Message.Channel.TELEGRAM if linked else Message.Channel.SMS,
        purpose=Message.Purpose.SERVICE,
        trigger="login_code",
        occasion=str(login.pk),
        text=text,
        language=member.language,
    )


@transaction.atomic
def join_code_request(*, phone: str, ip: str | None) -> None:
    """Send a code by SMS to the phone someone wants to join with, within the same limits."""
    _limits_check(phone, ip)
    login, code = _code_new(phone, LoginCode.Purpose.JOIN, None, ip)
    language = translation.get_language() or settings.LANGUAGE_CODE
    text = _("Kopilka code to join the program: %(code)s. Do not tell it to anyone.") % {
        "code": code
    }
    message_queue(
        member_id=None,
        address=phone,
        channel=Message.Channel.SMS,
        purpose=Message.Purpose.SERVICE,
        trigger="join_code",
        occasion=str(login.pk),
        text=text,
        language=language,
    )


WRONG = gettext_noop("The code is wrong or no longer valid. Ask for a new one.")


def _refused() -> LoginRefused:
    return LoginRefused(_(WRONG), fields={"code": _(WRONG)})


def login_code_check(*, phone: str, code: str) -> Member:
    """The member the code logs in; LoginRefused for a wrong, used, expired or worn-out code."""
    login = _code_use(phone, code.strip(), LoginCode.Purpose.LOGIN)
    member = login.member if login is not None else None
    if member is None or member.status != Member.Status.ACTIVE:
        raise _refused()
    return member


@dataclass(frozen=True)
class Joining:
    """What the join form asked, kept in the session until the code proves the phone."""

    phone: str
    name: str = ""
    email: str = ""
    sms_marketing: bool = False
    email_marketing: bool = False
    telegram_marketing: bool = False
    store_id: int | None = None
    language: str = ""  # the page's, when the form was sent
    ip: str | None = None  # where the boxes were ticked
    user_agent: str = ""

    @classmethod
    def asked(cls, request: HttpRequest, *, phone: str, **answers: Any) -> "Joining":
        """The form's answers with where they were given: the request's IP and browser, and
        the page's language unless `answers` says otherwise."""
        evidence = ConsentEvidence.web(request)
        answers.setdefault("language", translation.get_language() or "")
        return cls(phone=phone, ip=evidence.ip, user_agent=evidence.user_agent, **answers)

    def stored(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def read(cls, stored: object) -> "Joining | None":
        if not isinstance(stored, dict) or not isinstance(stored.get("phone"), str):
            return None
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in stored.items() if k in names})


PORTAL = Actor(label="member:portal")


def join_confirm(
    *, joining: Joining, code: str, actor: Actor = PORTAL, source: str = "portal:join"
) -> tuple[Member, bool]:
    """(the member, whether just enrolled): the code proves the phone, and the member is enrolled
    with the decisions the form recorded; a phone that is a member already just logs in. The
    member's page joins as `PORTAL`; the cashier screen as the staff user, source `till:<store>`."""
    if _code_use(joining.phone, code.strip(), LoginCode.Purpose.JOIN) is None:
        raise _refused()
    existing = Member.objects.filter(phone=joining.phone, status=Member.Status.ACTIVE).first()
    if existing is not None:
        return existing, False
    try:
        member = member_enroll(
            phone=joining.phone,
            name=joining.name,
            email=joining.email,
            consents=ConsentChoices(
                personal_data=True,
                sms_marketing=joining.sms_marketing,
                email_marketing=joining.email_marketing,
                telegram_marketing=joining.telegram_marketing,
            ),
            actor=actor,
            source=source,
            store_id=joining.store_id,
            language=joining.language,
            evidence=ConsentEvidence(
                ip=joining.ip,
                user_agent=joining.user_agent,
                store_id=joining.store_id,
                confirmed_by="sms_code",
            ),
        )
    except MemberExists:  # the same form confirmed twice at once: the other one enrolled
        return Member.objects.get(phone=joining.phone, status=Member.Status.ACTIVE), False
    if member.email:
        email_link_send(member, member.email)
    return member, True


@transaction.atomic
def _code_use(phone: str, code: str, purpose: str) -> LoginCode | None:
    """Count a try of the phone's latest live code (committed, right or wrong); the code when
    right (used up)."""
    now = clock.now()
    login = (
        LoginCode.objects.select_for_update()
        .filter(phone=phone, purpose=purpose, used_at__isnull=True, expires_at__gt=now)
        .order_by("-created_at", "-pk")
        .first()
    )
    if login is None or login.tries >= TRIES:
        return None
    login.tries += 1
    right = hmac.compare_digest(login.code_hash, _hash(phone, code))
    if right:
        login.used_at = now
    login.save(update_fields=["tries", "used_at"])
    return login if right else None


PASSWORD_WRONG = gettext_noop("The phone or the password is wrong.")


@cache
def _no_password() -> str:
    """Checked when the phone has no password, so a stranger's phone takes as long as a
    member's; hashed on the first login by password, not at every start-up."""
    return make_password("kopilka: no password here")


def password_login(*, phone: str, password: str, ip: str | None) -> Member:
    """The member whose optional password this is; LoginRefused otherwise, and after too many
    failures for the phone or the IP address (counted like the codes)."""
    now = clock.now()
    failures = PasswordTry.objects.filter(at__gt=now - WINDOW)
    if failures.filter(phone=phone).count() >= TRIES or (
        ip and failures.filter(ip=ip).count() >= settings.KOPILKA_LOGIN_CODES_PER_IP
    ):
        raise LoginRefused(
            _("Too many wrong passwords. Try again in %(minutes)s minutes or log in by a code.")
            % {"minutes": int(WINDOW.total_seconds() // 60)}
        )
    member = Member.objects.filter(phone=phone, status=Member.Status.ACTIVE).first()
    hashed = member.password if member is not None and member.password else _no_password()
    if check_password(password, hashed) and member is not None and member.password:
        return member
    PasswordTry.objects.create(phone=phone, ip=ip, at=now)
    raise LoginRefused(_(PASSWORD_WRONG), fields={"password": _(PASSWORD_WRONG)})
