"""Sending a campaign from the back office: the same launch as `manage.py campaign_send`."""

from typing import Any

import pytest
from django.test import Client

from kopilka.campaigns.models import Campaign
from kopilka.messaging.models import Message
from tests.conftest import staff_user
from tests.messaging.test_campaigns import members  # noqa: F401 (a fixture)

URL = "/backoffice/campaigns/send/"
FORM = {
    "key": "dec-coffee",
    "name": "Кофе в декабре",
    "audience": "all",
    "channel": "sms",
    "language": "ru",
    "template": "",
    "text": "{name}, у вас {balance} баллов",
    "subject": "",
    "control_share": "0.3",
}


@pytest.fixture
def marketer() -> Client:
    client = Client()
    client.force_login(staff_user("marina"))
    return client


@pytest.mark.usefixtures("members")
def test_a_marketer_queues_a_campaign_once(marketer: Client) -> None:
    page = marketer.post(URL, FORM, follow=True)
    assert page.status_code == 200
    said = page.content.decode()
    campaign = Campaign.objects.get(key="dec-coffee")
    queued = Message.objects.filter(campaign=campaign, status=Message.Status.QUEUED).count()
    held_out = Message.objects.filter(campaign=campaign, reason=Message.Reason.CONTROL_GROUP)
    assert queued + held_out.count() == 30 and held_out.exists()
    assert f"в очереди — {queued}, в контрольной группе — {held_out.count()}" in said
    again = marketer.post(URL, FORM, follow=True).content.decode()  # sent again
    assert Message.objects.filter(campaign=campaign).count() == 30
    assert "в очереди — 0," in again and "уже были в очереди — 30" in again
    texts = Message.objects.filter(campaign=campaign).values_list("text", flat=True)
    assert all(text.startswith("Гость ") for text in texts)


@pytest.mark.usefixtures("members")
@pytest.mark.parametrize(
    ("change", "field", "said"),
    [
        ({"text": ""}, "text", "Напишите текст или выберите шаблон"),
        ({"text": "Кофе " * 60}, None, "SMS занимает 6 частей"),
        ({"text": "Привет, {first_name}"}, None, "{first_name}"),
        ({"control_share": "0.9"}, "control_share", "0.5"),
        ({"key": "не ключ"}, "key", "латинских"),
    ],
)
def test_a_bad_campaign_gets_a_form_message_and_writes_nothing(
    marketer: Client, change: dict[str, str], field: str | None, said: str
) -> None:
    page = marketer.post(URL, {**FORM, **change})
    assert page.status_code == 400
    errors: Any = page.context["form"].errors
    assert said in str(errors.get(field or "__all__", errors))
    assert not Campaign.objects.exists() and not Message.objects.exists()


def test_only_marketers_and_owners_send(db: None) -> None:
    cashier = Client()
    cashier.force_login(staff_user("anna", role="cashier"))
    assert cashier.get(URL).status_code == 403
    assert cashier.post(URL, FORM).status_code == 403
    assert not Campaign.objects.exists()
