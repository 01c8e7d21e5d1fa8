"""POST /api/v1/members/{id}/consents: a till changes a member's message consents; each change is
a consent row with source `pos`, and the answer is every switch as it stands."""

from typing import Any

import pytest

from kopilka.members.models import Consent
from tests.conftest import enroll


@pytest.mark.django_db
def test_a_till_turns_advertising_off_and_account_sms_on(api: Any) -> None:
    member = enroll()
    response = api.post(
        f"/members/{member.pk}/consents", {"sms_marketing": False, "sms_service": True}
    )
    assert response.status_code == 200
    assert response.json() == {
        "sms_marketing": False,
        "email_marketing": False,
        "telegram_marketing": False,
        "sms_service": True,
        "email_service": True,  # the defaults for messages about the account
        "telegram_service": True,
    }
    rows = Consent.objects.filter(member=member, source="pos").order_by("purpose")
    assert [(c.purpose, c.channel, c.given, c.text_version) for c in rows] == [
        ("marketing", "sms", False, "2026-11"),
        ("service", "sms", True, "2026-11"),
    ]
    again = api.post(f"/members/{member.pk}/consents", {"email_marketing": True})
    assert again.json()["email_marketing"] is True and again.json()["sms_service"] is True


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [{}, {"sms_marketing": "maybe"}, {"fax_marketing": True}, [], {"sms_marketing": None}],
)
def test_a_bad_change_is_refused_and_changes_nothing(api: Any, body: Any) -> None:
    member = enroll()
    before = Consent.objects.count()
    response = api.post(f"/members/{member.pk}/consents", body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert Consent.objects.count() == before


@pytest.mark.django_db
def test_consents_of_an_unknown_member_are_404(api: Any) -> None:
    response = api.post("/members/999999/consents", {"sms_marketing": False})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "member_not_found"
    assert api.post("/members/1/consents", {"sms_marketing": False}, key=None).status_code == 401
