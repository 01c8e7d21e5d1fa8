"""Services that change members, cards and consents."""

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from kopilka.core import clock
from kopilka.core.audit import Actor, audit_record
from kopilka.core.errors import Conflict, DomainError, NotFound
from kopilka.core.ids import new_card_number
from kopilka.core.login_throttle import client_ip
from kopilka.core.phones import normalize_phone
from kopilka.members.models import Card, Consent, Member
from kopilka.program.selectors import program_in_force


class MemberExists(Conflict):
    code = "member_exists"


class CardTaken(Conflict):
    code = "card_taken"


class ConsentRequired(DomainError):
    code = "consent_required"


class MemberNotFound(NotFound):
    code = "member_not_found"


class ConsentSwitchUnknown(DomainError):
    code = "validation_error"


class ReferrerNotFound(DomainError):
    code = "referrer_not_found"


@dataclass(frozen=True)
class ConsentChoices:
    personal_data: bool
    sms_marketing: bool = False
    email_marketing: bool = False
    telegram_marketing: bool = False


def _consent_rows(choices: ConsentChoices) -> list[tuple[str, str, bool]]:
    rows: list[tuple[str, str, bool]] = [
        (Consent.Purpose.PERSONAL_DATA, Consent.Channel.ANY, choices.personal_data),
        (Consent.Purpose.MARKETING, Consent.Channel.SMS, choices.sms_marketing),
        (Consent.Purpose.MARKETING, Consent.Channel.EMAIL, choices.email_marketing),
    ]
    if choices.telegram_marketing:  # unticked: nothing to record (no chat is linked yet)
        rows.append((Consent.Purpose.MARKETING, Consent.Channel.TELEGRAM, True))
    return rows


@dataclass(frozen=True)
class ConsentEvidence:
    """Where a decision was made, kept with it: the web form's IP and browser, the till's store,
    and how the person proved the address (`sms_code`, `telegram`, `email_link`)."""

    ip: str | None = None
    user_agent: str = ""
    store_id: int | None = None
    confirmed_by: str = ""
    telegram_chat: str = ""

    @classmethod
    def web(cls, request: HttpRequest, confirmed_by: str = "") -> "ConsentEvidence":
        """A decision made on one of our pages: the client's IP address and browser."""
        agent = request.META.get("HTTP_USER_AGENT", "")
        return cls(ip=client_ip(request), user_agent=agent[:300], confirmed_by=confirmed_by)

    def row(self, member: Member, channel: str, actor: Actor) -> dict[str, object]:
        """The evidence fields of a consent row for `member` on `channel`."""
        addresses: dict[str, str] = {
            Consent.Channel.ANY: member.phone,
            Consent.Channel.SMS: member.phone,
            Consent.Channel.EMAIL: member.email,
            Consent.Channel.TELEGRAM: self.telegram_chat,
        }
        address = addresses.get(channel, "")
        return {
            "address": address,
            "ip": self.ip,
            "user_agent": self.user_agent[:300],
            "store_id": self.store_id,
            "actor": actor.label[:150],
            "confirmed_by": self.confirmed_by,
        }


@transaction.atomic
@transaction.atomic
def member_enroll(
    *,
    phone: str,
    consents: ConsentChoices,
    actor: Actor,
    source: str,
    name: str = "",
    email: str = "",
    birth_date: date | None = None,
    card_number: str | None = None,
    store_id: int | None = None,
    referrer_code: str | None = None,
    evidence: ConsentEvidence | None = None,
    language: str = "",
) -> Member:
    """Enrol a member with a card (given or newly generated) and their consent decisions; the
    program's welcome bonus (and the profile bonus, if the form was complete) in the same
    transaction. `referrer_code` is the code of the member who invited them.

    Personal-data consent is required by 152-FZ before anything is stored.
    """
    if not consents.personal_data:
        raise ConsentRequired(
            _("Consent to personal data processing is required to join."),
            fields={"consents.personal_data": _("Must be given.")},
        )
    phone = normalize_phone(phone)
    if Member.objects.filter(phone=phone).exists():
        raise MemberExists(
            _("A member with this phone is already enrolled."), fields={"phone": phone}
        )
    if card_number and Card.objects.filter(number=card_number).exists():
        raise CardTaken(
            _("This card number is already issued."), fields={"card_number": card_number}
        )
    referrer = None
    if referrer_code:
        referrer = Member.objects.filter(referral_code=referrer_code.strip().upper()).first()
        if referrer is None:
            raise ReferrerNotFound(
                _("No member has this referral code."), fields={"referrer_code": referrer_code}
            )
    now = clock.now()
    try:
        with transaction.atomic():  # a concurrent enrolment of the same phone loses here, cleanly
            member = Member.objects.create(
                referred_by=referrer,
                phone=phone,
                name=name.strip(),
                email=email.strip().lower(),
                birth_date=birth_date,
                enrolled_store_id=store_id,
                enrolled_by_id=actor.user_id,
                language=language or settings.LANGUAGE_CODE,
                created_at=now,
            )
            Card.objects.create(
                member=member, number=card_number or new_card_number(), issued_at=now
            )
    except IntegrityError as exc:
        raise MemberExists(_("A member with this phone or card is already enrolled.")) from exc
    version = settings.KOPILKA_CONSENT_TEXT_VERSION
    evidence = evidence or ConsentEvidence(store_id=store_id)
    Consent.objects.bulk_create(
        Consent(
            member=member,
            purpose=purpose,
            channel=channel,
            given=given,
            recorded_at=now,
            source=source,
            text_version=version,
            **evidence.row(member, channel, actor),
        )
        for purpose, channel, given in _consent_rows(consents)
    )
    audit_record(
        actor=actor,
        action="member.enroll",
        target_type="member",
        target_id=member.pk,
        member_id=member.pk,
        data={"source": source, "store_id": store_id},
    )
    from kopilka.members.bonuses import welcome_bonus  # bonuses use the ledger, which uses us

    welcome_bonus(member, program_in_force(now), actor)
    return member


def _card_lock(card_id: int) -> Card:
    card = Card.objects.select_for_update().filter(pk=card_id).first()
    if card is None:
        raise NotFound(_("Card not found."))
    return card


@transaction.atomic
def card_replace(*, card_id: int, actor: Actor, new_number: str | None = None) -> Card:
    """Block a lost or damaged card and issue a new one; the balance belongs to the member, not the card."""
    card = _card_lock(card_id)
    if card.status == Card.Status.BLOCKED:
        raise Conflict(_("This card is already blocked."))
    if new_number and Card.objects.filter(number=new_number).exists():
        raise CardTaken(
            _("This card number is already issued."), fields={"card_number": new_number}
        )
    now = clock.now()
    replacement = Card.objects.create(
        member_id=card.member_id, number=new_number or new_card_number(), issued_at=now
    )
    Card.objects.filter(pk=card.pk).update(
        status=Card.Status.BLOCKED, blocked_at=now, replaced_by=replacement
    )
    audit_record(
        actor=actor,
        action="card.replace",
        target_type="card",
        target_id=card.pk,
        member_id=card.member_id,
        data={"old": card.number, "new": replacement.number},
    )
    return replacement


@transaction.atomic
def card_block(*, card_id: int, actor: Actor) -> None:
    """Block a card without replacing it (the member keeps other cards and the balance)."""
    card = _card_lock(card_id)
    Card.objects.filter(pk=card.pk).update(status=Card.Status.BLOCKED, blocked_at=clock.now())
    audit_record(
        actor=actor,
        action="card.block",
        target_type="card",
        target_id=card.pk,
        member_id=card.member_id,
    )


# The consent switches a member, a till or the portal can turn: name -> (purpose, channel).
CONSENT_SWITCHES = {
    f"{channel}_{purpose}": (purpose, channel)
    for purpose in (Consent.Purpose.MARKETING, Consent.Purpose.SERVICE)
    for channel in (Consent.Channel.SMS, Consent.Channel.EMAIL, Consent.Channel.TELEGRAM)
}


@transaction.atomic
def consents_change(
    *,
    member_id: int,
    changes: dict[str, bool],
    source: str,
    actor: Actor,
    evidence: ConsentEvidence | None = None,
) -> list[Consent]:
    """Record the member's decisions (`{"sms_marketing": False}`): one consent row each, with its
    source and the consent text's version; the latest row for a switch is in force."""
    unknown = sorted(set(changes) - set(CONSENT_SWITCHES))
    if unknown:
        raise ConsentSwitchUnknown(
            _("Unknown consent switches."),
            fields={name: _("Not a consent switch.") for name in unknown},
        )
    member = Member.objects.filter(pk=member_id).first()
    if member is None:
        raise MemberNotFound(_("No member with this id."))
    now = clock.now()
    evidence = evidence or ConsentEvidence()
    rows = Consent.objects.bulk_create(
        Consent(
            member_id=member_id,
            purpose=CONSENT_SWITCHES[name][0],
            channel=CONSENT_SWITCHES[name][1],
            given=given,
            recorded_at=now,
            source=source,
            text_version=settings.KOPILKA_CONSENT_TEXT_VERSION,
            **evidence.row(member, CONSENT_SWITCHES[name][1], actor),
        )
        for name, given in sorted(changes.items())
    )
    audit_record(
        actor=actor,
        action="member.consents",
        target_type="member",
        target_id=member_id,
        member_id=member_id,
        data={"changes": changes, "source": source},
    )
    return rows


class BirthDateSet(DomainError):
    code = "birth_date_set"


@transaction.atomic
def member_profile_update(
    *,
    member_id: int,
    name: str,
    birth_date: date | None,
    actor: Actor,
    language: str | None = None,
) -> Member:
    """The member's own changes: the name, the language of their messages and pages, and the
    birth date once (later only staff change it: it decides the birthday bonus)."""
    member = Member.objects.select_for_update().get(pk=member_id)
    changes: dict[str, object] = {}
    if name != member.name:
        changes["name"] = name
    if language and language != member.language:
        changes["language"] = language
    if birth_date is not None and birth_date != member.birth_date:
        if member.birth_date is not None:
            raise BirthDateSet(
                _("The birth date is set already; the staff can correct it."),
                fields={"birth_date": _("Set already.")},
            )
        changes["birth_date"] = birth_date
    if changes:
        Member.objects.filter(pk=member_id).update(**changes)
        audit_record(
            actor=actor,
            action="member.profile",
            target_type="member",
            target_id=member_id,
            member_id=member_id,
            data={k: str(v) for k, v in changes.items()},
        )
        for key, value in changes.items():
            setattr(member, key, value)
    return member


@transaction.atomic
def member_password_set(*, member_id: int, password: str, actor: Actor) -> None:
    """Set the member's optional password (hashed; "" removes it). Validate it first with
    `django.contrib.auth.password_validation`."""
    hashed = make_password(password) if password else ""
    Member.objects.filter(pk=member_id).update(password=hashed)
    audit_record(
        actor=actor,
        action="member.password",
        target_type="member",
        target_id=member_id,
        member_id=member_id,
        data={"set": bool(password)},
    )


@transaction.atomic
def member_email_set(*, member_id: int, email: str, confirmed: bool, actor: Actor) -> Member:
    """The member's email: a confirmed one (the member opened the link sent to it) or none."""
    member = Member.objects.select_for_update().get(pk=member_id)
    email = email.strip().lower()
    confirmed_at = clock.now() if confirmed and email else None
    if email == member.email and (member.email_confirmed_at is not None or not confirmed):
        return member
    Member.objects.filter(pk=member_id).update(email=email, email_confirmed_at=confirmed_at)
    audit_record(
        actor=actor,
        action="member.email",
        target_type="member",
        target_id=member_id,
        member_id=member_id,
        data={"confirmed": bool(confirmed_at)},
    )
    member.email, member.email_confirmed_at = email, confirmed_at
    return member


@transaction.atomic
def member_anonymise(*, member_id: int, actor: Actor) -> None:
    """The member deletes their account: name, phone, email and birth date are gone, the cards
    blocked, every consent withdrawn; the ledger and the sales keep their figures under the
    anonymous row, so `ledger_check` and analytics stay whole, and the phone can join again."""
    member = Member.objects.select_for_update().get(pk=member_id)
    if member.status == Member.Status.ANONYMISED:
        return
    now = clock.now()
    Member.objects.filter(pk=member_id).update(
        phone=f"anon-{member_id}",
        name="",
        email="",
        birth_date=None,
        password="",
        status=Member.Status.ANONYMISED,
    )
    Card.objects.filter(member_id=member_id, status=Card.Status.ACTIVE).update(
        status=Card.Status.BLOCKED, blocked_at=now
    )
    consents_change(
        member_id=member_id,
        changes=dict.fromkeys(CONSENT_SWITCHES, False),
        source="account_deleted",
        actor=actor,
    )
    # the decisions stay as proof that messages were sent lawfully, without whom they named
    Consent.objects.filter(member_id=member_id).update(address="", ip=None, user_agent="")
    from kopilka.messaging.models import Message  # messaging builds on members

    Message.objects.filter(member_id=member_id).update(address="", text="", subject="")
    audit_record(
        actor=actor,
        action="member.anonymise",
        target_type="member",
        target_id=member_id,
        member_id=member_id,
    )
