import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from kopilka.ledger.models import Transfer
from kopilka.ledger.selectors import member_balance
from kopilka.members.models import Card
from kopilka.pos.terminals import terminal_authenticate
from tests.conftest import assert_ledger_clean, enroll

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client() -> Client:
    user = get_user_model().objects.create_superuser("boss", password="a-long-password-1")
    client = Client()
    client.force_login(user)
    return client


def test_staff_adjusts_points_with_a_reason(staff_client: Client) -> None:
    member = enroll()
    url = f"/admin/members/member/{member.pk}/adjust/"
    assert staff_client.get(url).status_code == 200
    refused = staff_client.post(url, {"points": "100", "reason": ""})
    assert (
        refused.status_code == 200 and Transfer.objects.count() == 0
    )  # the form says what is missing
    response = staff_client.post(url, {"points": "100", "reason": "Извинение за ожидание"})
    assert response.status_code == 302
    transfer = Transfer.objects.get()
    assert (transfer.kind, transfer.points, transfer.actor_label) == ("adjust", 100, "staff:boss")
    too_much = staff_client.post(url, {"points": "-101", "reason": "ошибка"})
    assert too_much.status_code == 200 and Transfer.objects.count() == 1
    assert member_balance(member.pk).available == 100
    assert_ledger_clean()


def test_admin_replaces_a_card(staff_client: Client) -> None:
    member = enroll()
    card = member.cards.get()
    response = staff_client.post(
        "/admin/members/card/", {"action": "replace_cards", "_selected_action": [card.pk]}
    )
    assert response.status_code == 302
    assert member.cards.filter(status=Card.Status.ACTIVE).exclude(pk=card.pk).count() == 1


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/members/member/",
        "/admin/ledger/transfer/",
        "/admin/ledger/pointlot/",
        "/admin/pos/purchase/",
        "/admin/pos/terminal/",
        "/admin/core/auditentry/",
        "/admin/program/programsettings/",
    ],
)
def test_admin_pages_open(staff_client: Client, url: str) -> None:
    enroll()
    assert staff_client.get(url).status_code == 200


def test_admin_revokes_a_terminal_key(staff_client: Client, terminal) -> None:
    principal, key = terminal
    response = staff_client.post(
        "/admin/pos/terminal/", {"action": "revoke_terminals", "_selected_action": [principal.id]}
    )
    assert response.status_code == 302
    assert terminal_authenticate(key) is None
