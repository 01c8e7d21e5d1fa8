"""What the SMS providers tell us: delivery reports (`POST /messaging/callbacks/<provider>/
<secret>`) and the members' replies (`POST /messaging/incoming/<provider>/<secret>`).

The secret in the URL (`KOPILKA_CALLBACK_SECRET`) authenticates the provider; a wrong one is a
404, as if there were no such page. A delivery report only moves a sent message forward (sent →
delivered or failed): repeated or late ones change nothing. A reply «СТОП» / "STOP" (or
«отписаться», "unsubscribe") withdraws the advertising SMS consent of the members with that
phone, with a consent record of source `sms:stop:<provider>`, before the next send.
"""

import hmac
import json
import re
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.core.errors import DomainError
from kopilka.core.phones import normalize_phone
from kopilka.members.models import Consent, Member
from kopilka.members.selectors import consent_latest
from kopilka.members.services import consents_change
from kopilka.messaging.models import Message

# SMS Aero's status codes: 1 delivered; 2 not delivered, 6 rejected by the operator
SMSAERO_FINAL = {1: "delivered", 2: "failed", 6: "failed"}
# SMS.ru's: 103 delivered; 104-108 and 150 not delivered
SMSRU_FINAL = {103: "delivered", **{code: "failed" for code in (104, 105, 106, 107, 108, 150)}}


def delivery_record(provider: str, provider_message_id: str, outcome: str, detail: str) -> int:
    """Move a sent message to `outcome`; how many rows moved (0 for a repeat or an unknown id)."""
    moved = Message.objects.filter(
        provider=provider, provider_message_id=provider_message_id, status=Message.Status.SENT
    )
    if outcome == "delivered":
        return moved.update(status=Message.Status.DELIVERED, delivered_at=clock.now())
    return moved.update(status=Message.Status.FAILED, reason=detail[:300])


def _smsaero(request: HttpRequest) -> HttpResponse:
    try:
        data = (
            json.loads(request.body) if request.content_type == "application/json" else request.POST
        )
        message_id, status = str(data["id"]), int(data["status"])
    except (ValueError, KeyError, TypeError):
        return HttpResponse("bad callback", status=400)
    outcome = SMSAERO_FINAL.get(status)
    if outcome:
        detail = f"SMS Aero status {status}: {data.get('extendStatus', '')}".strip(": ")
        delivery_record("smsaero", message_id, outcome, detail)
    return HttpResponse("ok")


def _smsru(request: HttpRequest) -> HttpResponse:
    for entry in request.POST.getlist("data[]"):
        lines = entry.splitlines()
        if len(lines) < 3 or lines[0] != "sms_status" or not lines[2].strip().isdigit():
            continue
        code = int(lines[2])
        outcome = SMSRU_FINAL.get(code)
        if outcome:
            delivery_record("smsru", lines[1].strip(), outcome, f"SMS.ru status {code}")
    return HttpResponse("100")  # SMS.ru repeats a callback until it reads "100"


HANDLERS = {"smsaero": _smsaero, "smsru": _smsru}


def _authentic(provider: str, secret: str) -> bool:
    return provider in HANDLERS and hmac.compare_digest(secret, settings.KOPILKA_CALLBACK_SECRET)


@csrf_exempt  # providers post without our cookies; the secret in the URL is the authority
@require_POST
def sms_callback(request: HttpRequest, provider: str, secret: str) -> HttpResponse:
    if not _authentic(provider, secret):
        return HttpResponseNotFound("not found")
    return HANDLERS[provider](request)


STOP_WORDS = frozenset({"stop", "стоп", "отписаться", "отписка", "unsubscribe", "stopall"})
FROM_FIELDS = ("from", "phone", "number", "sender")
TEXT_FIELDS = ("text", "message", "msg")


def stop_requested(text: str) -> bool:
    """«СТОП», "Stop!", " стоп " …: the reply's first word, in any case and punctuation."""
    words = re.findall(r"\w+", text.lower())
    return bool(words) and words[0] in STOP_WORDS


def sms_stop(phone: str, source: str) -> int:
    """Withdraw the advertising SMS consent of the members with `phone`; how many it changed
    (a member whose consent was withdrawn already is left as is)."""
    changed = 0
    for member_id in Member.objects.filter(phone=phone).values_list("pk", flat=True):
        latest = consent_latest(member_id, Consent.Purpose.MARKETING, Consent.Channel.SMS)
        if latest is None or latest.given:
            consents_change(
                member_id=member_id,
                changes={"sms_marketing": False},
                source=source,
                actor=Actor.system(source),
            )
            changed += 1
    return changed


def _first(data: Any, names: tuple[str, ...]) -> str:
    for name in names:
        value = data.get(name)
        if isinstance(value, str | int) and str(value).strip():
            return str(value).strip()
    return ""


@csrf_exempt
@require_POST
def sms_incoming(request: HttpRequest, provider: str, secret: str) -> HttpResponse:
    """A member's reply forwarded by the provider: `from` (or `phone`, `number`, `sender`) and
    `text` (or `message`, `msg`), as JSON or a form."""
    if not _authentic(provider, secret):
        return HttpResponseNotFound("not found")
    try:
        data = json.loads(request.body) if request.content_type == "application/json" else None
    except ValueError:
        return HttpResponse("bad request", status=400)
    fields = data if isinstance(data, dict) else request.POST
    sender, text = _first(fields, FROM_FIELDS), _first(fields, TEXT_FIELDS)
    if not sender:
        return HttpResponse("no sender", status=400)
    if stop_requested(text):
        international = sender.isdigit() and len(sender) == 11 and sender.startswith("7")
        try:
            phone = normalize_phone(f"+{sender}" if international else sender)
        except DomainError:
            return HttpResponse("bad sender", status=400)
        sms_stop(phone, f"sms:stop:{provider}")
    return HttpResponse("100" if provider == "smsru" else "ok")
