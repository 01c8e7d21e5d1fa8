"""SMS through the HTTP APIs Russian businesses use: SMS Aero (JSON API v2) and SMS.ru.

Both answer with the provider's message id, which the delivery callbacks (`messaging.callbacks`)
name. A refusal of the message itself (a bad number, a text the operator rejects) is permanent;
a network error, a timeout, a 5xx, a refused login or an empty balance is retried with backoff.
A crash between the provider's answer and our status update sends the message again after the
lease: these providers have no idempotency key, so they are at least once.
"""

import httpx
from django.conf import settings
from django.urls import reverse

from kopilka.messaging.channels import OneByOne, Outgoing, SendFailed, Sent
from kopilka.messaging.sms import sms_length

TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def callback_url(provider: str) -> str:
    path = reverse("sms-callback", args=[provider, settings.KOPILKA_CALLBACK_SECRET])
    return f"{settings.KOPILKA_PUBLIC_URL}{path}"


def _digits(phone: str) -> str:
    return phone.lstrip("+")


def _post(url: str, **kwargs: object) -> httpx.Response:
    try:
        response = httpx.post(url, timeout=TIMEOUT, **kwargs)  # type: ignore[arg-type]
    except httpx.HTTPError as exc:
        raise SendFailed(f"{type(exc).__name__}: {exc}") from exc
    if response.status_code >= 500:
        raise SendFailed(f"HTTP {response.status_code}")
    return response


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError as exc:
        raise SendFailed(f"HTTP {response.status_code}: not JSON") from exc
    if not isinstance(body, dict):
        raise SendFailed(f"HTTP {response.status_code}: unexpected answer")
    return body


class SmsAero(OneByOne):
    """`POST {KOPILKA_SMSAERO_URL}/sms/send` with basic auth (account email, API key), the
    sender name as `sign` and a per-message `callbackUrl` for the delivery status."""

    name = "smsaero"

    def send(self, message: Outgoing) -> Sent:
        response = _post(
            f"{settings.KOPILKA_SMSAERO_URL}/sms/send",
            auth=(settings.KOPILKA_SMSAERO_EMAIL, settings.KOPILKA_SMSAERO_API_KEY),
            json={
                "number": _digits(message.to),
                "text": message.text,
                "sign": settings.KOPILKA_SMS_SENDER,
                "callbackUrl": callback_url(self.name),
            },
        )
        body = _json(response)
        data = body.get("data")
        if body.get("success") is True and isinstance(data, dict) and data.get("id") is not None:
            return Sent(self.name, str(data["id"]), sms_length(message.text).parts)
        reason = f"HTTP {response.status_code}: {body.get('message') or 'refused'}"
        # 400 and 422 are about this message; 401, 402 (balance), 429 are about the account
        raise SendFailed(reason, permanent=response.status_code in (400, 422))


class SmsRu(OneByOne):
    """`POST {KOPILKA_SMSRU_URL}/sms/send` (form: `api_id`, `to`, `msg`, `from`, `json=1`); the
    status callback URL is set once in the SMS.ru account (`callback_url("smsru")`)."""

    name = "smsru"

    def send(self, message: Outgoing) -> Sent:
        to = _digits(message.to)
        form = {"api_id": settings.KOPILKA_SMSRU_API_ID, "to": to, "msg": message.text, "json": 1}
        if settings.KOPILKA_SMS_SENDER:
            form["from"] = settings.KOPILKA_SMS_SENDER
        body = _json(_post(f"{settings.KOPILKA_SMSRU_URL}/sms/send", data=form))
        if body.get("status") != "OK":  # the request itself: the key, the balance, the limits
            raise SendFailed(f"SMS.ru {body.get('status_code')}: {body.get('status_text', '')}")
        numbers = body.get("sms")
        result = numbers.get(to) if isinstance(numbers, dict) else None
        if not isinstance(result, dict):
            raise SendFailed("SMS.ru: no result for the number")
        if result.get("status") != "OK" or not result.get("sms_id"):
            reason = f"SMS.ru {result.get('status_code')}: {result.get('status_text', '')}"
            raise SendFailed(reason, permanent=True)
        return Sent(self.name, str(result["sms_id"]), sms_length(message.text).parts)
