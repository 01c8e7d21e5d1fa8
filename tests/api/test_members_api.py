import pytest

from kopilka.core.audit import Actor
from kopilka.core.ids import luhn_valid
from kopilka.core.models import AuditEntry
from kopilka.members.models import Consent, Member
from kopilka.pos.terminals import terminal_revoke
from tests.conftest import Api, enroll

pytestmark = pytest.mark.django_db


def enrol_body(**overrides: object) -> dict[str, object]:
    return {
        "phone": "8 (916) 123-45-67",
        "name": "Анна",
        "email": None,
        "birth_date": None,
        "card_number": None,
        "consents": {"personal_data": True, "sms_marketing": True, "email_marketing": False},
        **overrides,
    }


def test_enrol_normalises_the_phone_issues_a_card_and_records_consents(api: Api) -> None:
    response = api.post("/members", enrol_body())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["phone"] == "+79161234567"
    assert luhn_valid(body["card_number"])
    assert body["balance"] == {"available": 0, "pending": 0, "expiring": []}
    consents = {
        (c.purpose, c.channel): c.given for c in Consent.objects.filter(member_id=body["id"])
    }
    assert consents == {
        ("personal_data", "any"): True,
        ("marketing", "sms"): True,
        ("marketing", "email"): False,
    }
    assert Member.objects.get(pk=body["id"]).enrolled_store is not None


def test_enrolling_a_phone_twice_is_a_conflict(api: Api) -> None:
    api.post("/members", enrol_body())
    response = api.post("/members", enrol_body(phone="+7 916 123 45 67"))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "member_exists"
    assert Member.objects.count() == 1


@pytest.mark.parametrize(
    "consents",
    [
        {"personal_data": False},
        {},
        # marketing consent is not consent to personal data processing (152-FZ): still refused
        {"personal_data": False, "sms_marketing": True},
        {"personal_data": False, "sms_marketing": True, "email_marketing": True},
        {"sms_marketing": True, "email_marketing": True},
    ],
)
def test_enrolment_without_personal_data_consent_is_refused_and_writes_nothing(
    api: Api, consents: dict
) -> None:
    response = api.post("/members", enrol_body(consents=consents))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "consent_required"
    assert "consents.personal_data" in response.json()["error"]["fields"]
    assert Member.objects.count() == 0 and Consent.objects.count() == 0
    assert not AuditEntry.objects.filter(action="member.enroll").exists()


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"phone": "123"}, "invalid_phone", "phone"),
        ({"phone": "+7 000 000"}, "invalid_phone", "phone"),
        ({"email": "not-an-email"}, "validation_error", "email"),
        ({"birth_date": "1812-01-01"}, "validation_error", "birth_date"),
        ({"card_number": "ABC"}, "validation_error", "card_number"),
        ({"name": 5}, "validation_error", "name"),
    ],
)
def test_bad_enrolment_fields_get_a_field_error(
    api: Api, overrides: dict, code: str, field: str
) -> None:
    response = api.post("/members", enrol_body(**overrides))
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert field in error["fields"]
    assert Member.objects.count() == 0


def test_a_given_card_number_is_used_and_cannot_be_reused(api: Api) -> None:
    first = api.post("/members", enrol_body(card_number="1234567890"))
    assert first.json()["card_number"] == "1234567890"
    second = api.post("/members", enrol_body(phone="+79161234568", card_number="1234567890"))
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "card_taken"


def test_lookup_by_phone_and_by_card(api: Api) -> None:
    member = enroll()
    card = member.cards.get().number
    by_phone = api.get("/members/lookup", phone="89161234567")
    by_card = api.get("/members/lookup", card=card)
    assert by_phone.status_code == by_card.status_code == 200
    assert by_phone.json()["id"] == by_card.json()["id"] == member.pk
    assert by_card.json()["tier"] is None


@pytest.mark.parametrize("params", [{"phone": "+79990000000"}, {"card": "00000000"}])
def test_lookup_of_an_unknown_member_is_404(api: Api, params: dict) -> None:
    response = api.get("/members/lookup", **params)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "member_not_found"


def test_unknown_member_id_is_404(api: Api) -> None:
    assert api.get("/members/999999").json()["error"]["code"] == "member_not_found"
    assert api.get("/members/999999/transactions").status_code == 404


@pytest.mark.parametrize("key", [None, "wrong", "kp_deadbeef_nope", "Bearer"])
def test_missing_or_wrong_key_is_401(api: Api, key: str | None) -> None:
    response = api.get("/members/lookup", key=key, phone="+79161234567")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_a_revoked_key_stops_working(api: Api, terminal) -> None:
    assert api.get("/members/lookup", phone="+79161234567").status_code == 404
    terminal_revoke(terminal_id=terminal[0].id, actor=Actor.system("test"))
    assert api.get("/members/lookup", phone="+79161234567").status_code == 401


def test_member_error_messages_are_russian_by_default(api: Api) -> None:
    response = api.get("/members/999999", language="ru")
    assert response.json()["error"]["message"] == "Нет участника с таким номером."
