"""An email address is the member's once they open the link sent to it.

The link carries a signed token of (member, new address, the address it replaces), valid
`DAYS` days; it works without logging in (it is opened in the mail app), changes nothing if the
member has since set another address, and opening it twice changes nothing more.
"""

import hashlib

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.members.models import Member
from kopilka.members.services import member_email_set
from kopilka.messaging.models import Message
from kopilka.messaging.services import message_queue

SALT = "kopilka.portal.email"
DAYS = 3


def email_link_send(member: Member, email: str) -> None:
    """Send the link that makes `email` the member's address (to that address)."""
    sent = int(clock.now().timestamp())
    token = signing.dumps({"m": member.pk, "e": email, "was": member.email, "at": sent}, salt=SALT)
    link = settings.KOPILKA_PUBLIC_URL + reverse("portal:email-confirm", args=[token])
    with translation.override(member.language):
        subject = _("Confirm your email for Kopilka")
        text = _(
            "Open this link to receive Kopilka messages at this address: %(link)s\n"
            "The link is valid for %(days)s days. If you did not ask for it, ignore this letter."
        ) % {"link": link, "days": DAYS}
    message_queue(
        member_id=member.pk,
        address=email,
        channel=Message.Channel.EMAIL,
        purpose=Message.Purpose.SERVICE,
        trigger="email_confirm",
        occasion=hashlib.sha256(token.encode()).hexdigest()[:16],  # each request its own
        subject=subject,
        text=text,
        language=member.language,
    )


def email_link_open(token: str) -> Member | None:
    """The member whose address the link confirmed, or None (forged, expired, or overtaken by
    a later change)."""
    try:
        found = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    if not isinstance(found, dict) or not all(isinstance(found.get(k), int) for k in ("m", "at")):
        return None
    if clock.now().timestamp() - found["at"] > DAYS * 86400:
        return None
    member = Member.objects.filter(pk=found["m"], status=Member.Status.ACTIVE).first()
    if member is None or member.email not in (found.get("was"), found.get("e")):
        return None
    return member_email_set(
        member_id=member.pk,
        email=str(found["e"]),
        confirmed=True,
        actor=Actor(label=f"member:{member.pk}"),
    )
