"""Delivery callbacks of the SMS providers: `POST /messaging/callbacks/<provider>/<secret>`.

The secret in the URL (`KOPILKA_CALLBACK_SECRET`) authenticates the provider; a wrong one is a
404, as if there were no such page. A callback only moves a sent message forward (sent →
delivered or failed): repeated or late ones change nothing.
"""

import hmac
import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from kopilka.core import clock
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


@csrf_exempt  # providers post without our cookies; the secret in the URL is the authority
@require_POST
def sms_callback(request: HttpRequest, provider: str, secret: str) -> HttpResponse:
    handler = HANDLERS.get(provider)
    if handler is None or not hmac.compare_digest(secret, settings.KOPILKA_CALLBACK_SECRET):
        return HttpResponseNotFound("not found")
    return handler(request)
