"""Reads of members and cards."""

from django.utils.translation import gettext as _

from kopilka.core.phones import InvalidPhone, normalize_phone
from kopilka.members.models import Card, Consent, Member
from kopilka.members.services import MemberNotFound


def member_get(member_id: int) -> Member:
    member = Member.objects.filter(pk=member_id).first()
    if member is None:
        raise MemberNotFound(_("No member with this id."))
    return member


def member_find(
    *,
    member_id: int | None = None,
    phone: str | None = None,
    card: str | None = None,
    qr: str | None = None,
) -> Member:
    """Find a member by id, phone (any common format), an active card number or the digital
    card's QR token (`members.card_token`: fresh for a minute or two)."""
    if member_id is not None:
        return member_get(member_id)
    if qr:
        from kopilka.members.card_token import card_token_read

        found_id = card_token_read(qr)
        member = None
        if found_id is not None:
            member = Member.objects.filter(pk=found_id, status=Member.Status.ACTIVE).first()
        if member is None:
            raise MemberNotFound(
                _(
                    "The card's QR code is not valid any more: ask the member to open the card again."
                )
            )
        return member
    if phone:
        try:
            normalized = normalize_phone(phone)
        except InvalidPhone:
            raise MemberNotFound(_("No member with this phone.")) from None
        member = Member.objects.filter(phone=normalized).first()
        if member is None:
            raise MemberNotFound(_("No member with this phone."))
        return member
    if card:
        found = (
            Card.objects.filter(number=card.strip(), status=Card.Status.ACTIVE)
            .select_related("member")
            .first()
        )
        if found is None:
            raise MemberNotFound(_("No member with this card."))
        return found.member
    raise MemberNotFound(_("Give a member id, phone or card number."))


def member_card_number(member: Member) -> str | None:
    card = member.cards.filter(status=Card.Status.ACTIVE).order_by("-issued_at", "-id").first()
    return card.number if card else None


def consent_latest(member_id: int, purpose: str, channel: str) -> Consent | None:
    """The decision in force for (purpose, channel): the latest recorded, None if none was."""
    return (
        Consent.objects.filter(member_id=member_id, purpose=purpose, channel=channel)
        .order_by("-recorded_at", "-id")
        .first()
    )


# Messages about the member's own account before the member chooses: email and Telegram on, SMS
# off (an SMS costs the business and reaches the member anywhere).
SERVICE_DEFAULT = {"sms": False, "email": True, "telegram": True}


def switch_on(purpose: str, channel: str, decision: Consent | None) -> bool:
    """Whether a switch is on: the member's latest decision, else the default (advertising off,
    messages about the account as SERVICE_DEFAULT)."""
    if decision is not None:
        return decision.given
    return purpose == Consent.Purpose.SERVICE and SERVICE_DEFAULT.get(channel, False)


def consents_in_force(member_id: int) -> dict[str, bool]:
    """Every consent switch (`sms_marketing`, `email_service`, …) as it stands now."""
    from kopilka.members.services import CONSENT_SWITCHES

    latest = {
        (c.purpose, c.channel): c
        for c in Consent.objects.filter(member_id=member_id).order_by("recorded_at", "id")
    }
    return {
        name: switch_on(purpose, channel, latest.get((purpose, channel)))
        for name, (purpose, channel) in CONSENT_SWITCHES.items()
    }
