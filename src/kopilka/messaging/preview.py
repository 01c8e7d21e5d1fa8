"""A template's text as one real member would get it: the admin's live preview.

The common variables (`{name}`, `{balance}`, `{expiring_points}`, `{expiring_date}`) are the
member's own, as the sender's triggers and campaigns fill them; an event's own variables (the
tier reached, the voucher…) take the member's tier where it has one, else a sample value. The
SMS length counts what the sender adds (the unsubscribe link of an advertising SMS).
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from kopilka.core import clock
from kopilka.core.errors import DomainError
from kopilka.members.models import Member
from kopilka.members.selectors import member_find
from kopilka.messaging.models import Message
from kopilka.messaging.sms import sms_length
from kopilka.messaging.texts import (
    SAMPLE,
    TemplateInvalid,
    advertising,
    sms_unsubscribe_added,
    template_check,
    variables_for,
)
from kopilka.messaging.triggers import member_values
from kopilka.messaging.unsubscribe import unsubscribe_url
from kopilka.program.selectors import program_in_force


@dataclass(frozen=True)
class Preview:
    member: str  # who it was rendered for
    subject: str
    text: str
    characters: int
    parts: int  # SMS only, else 0
    encoding: str  # "GSM-7", "UCS-2" or ""
    error: str = ""

    def as_dict(self) -> dict[str, object]:
        return self.__dict__.copy()


def preview_member(query: str) -> Member | None:
    """The member a preview is for: an id, a phone or a card number; blank: the newest member."""
    query = query.strip()
    if not query:
        return Member.objects.filter(status=Member.Status.ACTIVE).order_by("-pk").first()
    try:
        if query.isdigit() and len(query) < 10:
            return member_find(member_id=int(query))
        if query.isdigit() and len(query) == 16:
            return member_find(card=query)
        return member_find(phone=query)
    except DomainError:
        return None


def template_preview(
    *, name: str, channel: str, language: str, subject: str, text: str, member: Member | None
) -> Preview:
    variables = variables_for(name)
    try:
        template_check(subject, variables)
        template_check(text, variables)
    except TemplateInvalid as exc:
        return Preview("", "", "", 0, 0, "", exc.message)
    values = dict(SAMPLE)
    who = _("sample values (no member found)")
    if member is not None:
        values |= member_values(member, clock.now(), language)
        tier = program_in_force().tier(member.tier_code) if member.tier_code else None
        if tier is not None:
            values["tier"] = tier.name
        who = f"#{member.pk} {member.name}".strip()
    body = text.format_map(values)
    parts, encoding, shown = 0, "", body
    if channel == Message.Channel.SMS:
        if advertising(name):
            link = unsubscribe_url(member.pk if member else 0, channel)
            shown = sms_unsubscribe_added(body, link, language)
        length = sms_length(shown)
        parts, encoding = length.parts, "UCS-2" if length.encoding == "ucs2" else "GSM-7"
    error = ""
    if parts > settings.KOPILKA_SMS_MAX_PARTS:
        error = _("The SMS takes %(parts)s parts; at most %(max)s.") % {
            "parts": parts,
            "max": settings.KOPILKA_SMS_MAX_PARTS,
        }
    return Preview(who, subject.format_map(values), shown, len(shown), parts, encoding, error)
