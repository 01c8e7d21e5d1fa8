import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import translation
from django.utils.html import escape

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.ledger.models import Transfer
from kopilka.ledger.selectors import member_balance, transfer_description
from kopilka.ledger.services import points_adjust
from kopilka.members.models import Card
from kopilka.pos.terminals import terminal_authenticate
from kopilka.program.selectors import program_cache_clear
from kopilka.program.services import program_version_create
from tests.conftest import Api, assert_ledger_clean, enroll
from tests.pos.test_returns import buy

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
        "/admin/program/programversion/",
        "/admin/program/programversion/add/",
    ],
)
def test_admin_pages_open(staff_client: Client, url: str) -> None:
    enroll()
    assert staff_client.get(url, follow=True).status_code == 200


def test_admin_revokes_a_terminal_key(staff_client: Client, terminal) -> None:
    principal, key = terminal
    response = staff_client.post(
        "/admin/pos/terminal/", {"action": "revoke_terminals", "_selected_action": [principal.id]}
    )
    assert response.status_code == 302
    assert terminal_authenticate(key) is None


NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


def test_the_admin_index_groups_the_ledger_internals_under_one_russian_section(
    staff_client: Client,
) -> None:
    # when the owner opens the admin (Russian is the default language)
    html = staff_client.get("/admin/").content.decode()
    # then the sections carry Russian names, the owner's first and the internals together
    sections = re.findall(r'<a href="[^"]*" class="section"[^>]*>([^<]+)</a>', html)
    assert sections[:3] == ["Участники", "Магазины и продажи", "Программа лояльности"]
    assert sections.count("Учёт (только чтение)") == 1
    assert sections.index("Учёт (только чтение)") > sections.index("Пользователи и группы")
    accounting = re.findall(r'id="accounting-(\w+)"', html)
    assert accounting == [
        "transfer",
        "pointlot",
        "lotspend",
        "posting",
        "auditentry",
        "idempotencyrecord",
        "scheduledrun",
    ]
    assert not re.search(r'id="(ledger|core)-', html), "no section of their own"
    assert "Kopilka core" not in html and "Ledger" not in html
    # and the section's own page shows the same tables, whichever app holds them
    for app in ("ledger", "core"):
        page = staff_client.get(f"/admin/{app}/").content.decode()
        assert re.findall(r'id="accounting-(\w+)"', page) == accounting
        assert "<h1>Учёт (только чтение)</h1>" in page


@pytest.mark.parametrize(
    ("url", "title"),
    [
        ("/admin/members/member/", "Участники"),
        ("/admin/pos/store/add/", "Добавить магазин"),
        ("/admin/pos/terminal/add/", "Добавить терминал"),
        ("/admin/auth/user/add/", "Добавить пользователя"),
        ("/admin/auth/group/add/", "Добавить группу"),
        ("/admin/ledger/transfer/", "Операции"),
    ],
)
def test_admin_titles_are_whole_russian_phrases(staff_client: Client, url: str, title: str) -> None:
    html = staff_client.get(url).content.decode()
    assert f"<h1>{title}</h1>" in html
    if url.endswith("/add/"):  # and the breadcrumbs end with the same words
        assert re.search(rf"&rsaquo; {title}\s*</div>", html)
    # Django's own phrases put the noun in the nominative ("Выберите участник для изменения")
    assert "для изменения" not in html and "для просмотра" not in html


def test_the_add_buttons_decline_the_noun(staff_client: Client) -> None:
    stores = staff_client.get("/admin/pos/store/").content.decode()
    users = staff_client.get("/admin/auth/user/").content.decode()
    assert re.search(r'class="addlink">\s*Добавить магазин\s*</a>', stores)
    assert re.search(r'class="addlink">\s*Добавить пользователя\s*</a>', users)


def test_the_member_page_shows_balance_expiry_and_the_latest_operations_with_reasons(
    staff_client: Client, api: Api
) -> None:
    # given a member who got 100 points from staff, and two days later bought for 500 ₽
    # while new points wait 3 days
    boss = get_user_model().objects.get(username="boss")
    with clock.frozen_at(NOW):
        member = enroll()
        points_adjust(
            member_id=member.pk, points=100, reason="Извинение за ожидание", actor=Actor.staff(boss)
        )
        program_version_create(actor=Actor.staff(boss), document={"pending_days": 3})
        program_cache_clear()
    with clock.frozen_at(NOW + timedelta(days=2)):
        buy(api, member.pk, ("COF1", "2", "250.00"), number="P1")
        # when the owner opens the member
        response = staff_client.get(f"/admin/members/member/{member.pk}/change/")
    html = response.content.decode()
    # then the title declines the noun and the page shows available and pending points
    assert "<h1>Изменить участника</h1>" in html
    assert "100 баллов доступно" in html and "25 баллов ещё не доступны" in html
    # what expires when: each lot's last valid day, a year after the day it was earned
    assert "<tr><td>100</td><td>10 марта 2027</td></tr>" in html
    assert "<tr><td>25</td><td>12 марта 2027</td></tr>" in html
    # and the latest operations, newest first, each with its reason in plain words
    transfers = list(Transfer.objects.filter(member=member).order_by("-id"))
    with translation.override("ru"):
        reasons = [escape(transfer_description(t)) for t in transfers]
    assert "Корректировка сотрудником: Извинение за ожидание" in reasons[1]
    positions = [html.index(reason) for reason in reasons]
    assert positions == sorted(positions)
    assert "+100" in html and "+25" in html
    assert f'href="/admin/ledger/transfer/?member={member.pk}"' in html
    # which is a working list of exactly this member's operations
    listed = staff_client.get(f"/admin/ledger/transfer/?member={member.pk}")
    assert listed.status_code == 200 and len(listed.context["cl"].result_list) == 2


def test_the_member_page_of_a_member_without_points(staff_client: Client) -> None:
    member = enroll()
    html = staff_client.get(f"/admin/members/member/{member.pk}/change/").content.decode()
    assert "0 баллов доступно" in html
    assert "Сгорающих баллов нет." in html and "Операций пока нет." in html


def test_the_member_page_costs_a_bounded_number_of_queries(
    staff_client: Client, api: Api, django_assert_max_num_queries: Any
) -> None:
    # given a member with many operations: the page reads the latest ten, not all of them
    member = enroll()
    for number in range(15):
        buy(api, member.pk, ("COF1", "1", "100.00"), number=f"P{number}")
    with django_assert_max_num_queries(12):
        response = staff_client.get(f"/admin/members/member/{member.pk}/change/")
    assert response.content.decode().count("<td>+5</td>") == 10


def test_staff_see_the_tier_and_set_one_by_hand(staff_client: Client) -> None:
    from kopilka.members.models import Member, TierChange
    from tests.members.test_tiers import TIERS

    with clock.frozen_at(datetime(2026, 3, 2, 9, tzinfo=UTC)):
        program_version_create(actor=Actor.system("test"), document={"tiers": TIERS})
        program_cache_clear()
        member = enroll()
        page = staff_client.get(f"/admin/members/member/{member.pk}/change/")
        html = page.content.decode()
        assert page.status_code == 200
        assert "До «Серебро» осталось 1000.00 ₽." in html
        url = f"/admin/members/member/{member.pk}/tier/"
        form = staff_client.get(url)
        assert form.status_code == 200 and "Золото" in form.content.decode()
        refused = staff_client.post(url, {"tier": "gold", "until": "2026-03-01", "note": "x"})
        assert refused.status_code == 200 and not TierChange.objects.exists()
        done = staff_client.post(url, {"tier": "gold", "until": "2026-04-30", "note": "блогер"})
        assert done.status_code == 302
        member = Member.objects.get(pk=member.pk)
        assert (member.tier_code, str(member.tier_manual_until)) == ("gold", "2026-04-30")
        change = TierChange.objects.get()
        assert (change.kind, change.actor_label) == ("manual", "staff:boss")
        html = staff_client.get(f"/admin/members/member/{member.pk}/change/").content.decode()
        assert "Золото" in html and "блогер" in html
