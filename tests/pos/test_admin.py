"""Stores and terminals in the admin: created and revoked through the services, the key shown once."""

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client

from kopilka.core.models import AuditEntry
from kopilka.pos.models import Store, Terminal
from kopilka.pos.terminals import terminal_authenticate

pytestmark = pytest.mark.django_db

KEY = re.compile(r"kp_[0-9a-f]{8}_[A-Za-z0-9_-]+")


@pytest.fixture
def boss() -> Any:
    return get_user_model().objects.create_superuser("boss", password="a-long-password-1")


@pytest.fixture
def staff_client(boss: Any) -> Client:
    client = Client()
    client.force_login(boss)
    return client


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_the_owner_creates_a_store_and_the_audit_log_says_who(staff_client: Client) -> None:
    response = staff_client.post(
        "/admin/pos/store/add/", {"code": "cafe-1", "name": "Кофейня", "time_zone": "Asia/Omsk"}
    )
    assert response.status_code == 302
    store = Store.objects.get(code="cafe-1")
    assert (store.name, store.time_zone) == ("Кофейня", "Asia/Omsk")
    entry = AuditEntry.objects.get(action="store.create")
    assert (entry.actor_label, entry.target_id) == ("staff:boss", store.pk)


def test_a_store_form_refuses_an_unknown_time_zone_and_a_taken_code(staff_client: Client) -> None:
    Store.objects.create(code="cafe-1", name="Кофейня")
    bad_zone = staff_client.post(
        "/admin/pos/store/add/", {"code": "cafe-2", "name": "Вторая", "time_zone": "Mars/Olympus"}
    )
    taken = staff_client.post(
        "/admin/pos/store/add/", {"code": "cafe-1", "name": "Снова", "time_zone": "Europe/Moscow"}
    )
    assert bad_zone.status_code == taken.status_code == 200  # the form again, with the reason
    assert "Неизвестный часовой пояс Mars/Olympus." in bad_zone.content.decode()
    assert "уже существует" in taken.content.decode()
    assert list(Store.objects.values_list("code", flat=True)) == ["cafe-1"]
    assert not AuditEntry.objects.filter(action="store.create").exists()


def test_a_store_is_renamed_but_its_code_stays(staff_client: Client) -> None:
    store = Store.objects.create(code="cafe-1", name="Кофейня")
    response = staff_client.post(
        f"/admin/pos/store/{store.pk}/change/",
        {"code": "hacked", "name": "Кофейня у парка", "time_zone": "Europe/Moscow"},
    )
    assert response.status_code == 302
    store.refresh_from_db()
    assert (store.code, store.name) == ("cafe-1", "Кофейня у парка")
    entry = AuditEntry.objects.get(action="store.update")
    assert (
        entry.data["before"]["name"] == "Кофейня"
        and entry.data["after"]["name"] == "Кофейня у парка"
    )
    # a store is never deleted from the admin: purchases and members refer to it
    assert staff_client.post(f"/admin/pos/store/{store.pk}/delete/").status_code == 403


def test_the_owner_creates_a_terminal_and_sees_its_key_once(staff_client: Client) -> None:
    # given a store
    store = Store.objects.create(code="cafe-1", name="Кофейня")
    # when the owner adds a terminal without a name
    response = staff_client.post("/admin/pos/terminal/add/", {"store": store.pk, "name": ""})
    # then terminal_create made it ("Касса 1"), and the key is in a message, which works at once
    assert response.status_code == 302
    terminal = Terminal.objects.get()
    assert (terminal.store_id, terminal.name) == (store.pk, "Касса 1")
    shown_on = staff_client.get(response["Location"]).content.decode()
    shown = KEY.findall(shown_on)
    assert len(shown) == 1 and "показан только сейчас" in shown_on
    principal = terminal_authenticate(shown[0])
    assert principal is not None and principal.id == terminal.pk
    assert AuditEntry.objects.get(action="terminal.create").actor_label == "staff:boss"
    # and never again: the list and the terminal's page show no key and no hash
    for url in ("/admin/pos/terminal/", f"/admin/pos/terminal/{terminal.pk}/change/"):
        page = staff_client.get(url).content.decode()
        assert not KEY.search(page) and terminal.key_hash not in page
        assert terminal.key_prefix in page  # the public prefix, to tell keys apart


def test_a_named_terminal_and_a_terminal_form_without_a_store(staff_client: Client) -> None:
    store = Store.objects.create(code="cafe-1", name="Кофейня")
    named = staff_client.post("/admin/pos/terminal/add/", {"store": store.pk, "name": " Бар "})
    assert named.status_code == 302 and Terminal.objects.get().name == "Бар"
    refused = staff_client.post("/admin/pos/terminal/add/", {"store": "", "name": "Касса"})
    assert refused.status_code == 200 and Terminal.objects.count() == 1
    assert "Обязательное поле." in refused.content.decode()


def test_the_revoke_action_stops_every_selected_key(staff_client: Client) -> None:
    # given two terminals created in the admin, and their keys
    store = Store.objects.create(code="cafe-1", name="Кофейня")
    keys = []
    for name in ("Бар", "Зал"):
        response = staff_client.post("/admin/pos/terminal/add/", {"store": store.pk, "name": name})
        keys.append(KEY.search(" ".join(messages_of(response))).group(0))  # type: ignore[union-attr]
    assert all(terminal_authenticate(key) for key in keys)
    ids = list(Terminal.objects.order_by("pk").values_list("pk", flat=True))
    # when both are selected and revoked
    response = staff_client.post(
        "/admin/pos/terminal/", {"action": "revoke_terminals", "_selected_action": ids}
    )
    # then neither key works, each revocation is in the audit log, and a second revoke says so
    assert response.status_code == 302
    assert [terminal_authenticate(key) for key in keys] == [None, None]
    assert (
        AuditEntry.objects.filter(action="terminal.revoke", actor_label="staff:boss").count() == 2
    )
    again = staff_client.post(
        "/admin/pos/terminal/", {"action": "revoke_terminals", "_selected_action": ids[:1]}
    )
    assert "Ключ терминала «Бар» уже был отозван." in messages_of(again)
    assert AuditEntry.objects.filter(action="terminal.revoke").count() == 2
    active = staff_client.get("/admin/pos/terminal/?status=active")
    assert list(active.context["cl"].result_list) == []


def test_a_viewer_cannot_revoke(boss: Any, terminal: Any) -> None:
    # given a staff user who may only look at terminals
    viewer = get_user_model().objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_terminal"))
    client = Client()
    client.force_login(viewer)
    principal, key = terminal
    assert client.get("/admin/pos/terminal/").status_code == 200
    assert "revoke_terminals" not in client.get("/admin/pos/terminal/").content.decode()
    # when they post the action anyway, nothing is revoked
    client.post(
        "/admin/pos/terminal/", {"action": "revoke_terminals", "_selected_action": [principal.id]}
    )
    assert terminal_authenticate(key) is not None
    assert client.get("/admin/pos/terminal/add/").status_code == 403


def test_terminals_are_not_edited_or_deleted(staff_client: Client, terminal: Any) -> None:
    principal, key = terminal
    url = f"/admin/pos/terminal/{principal.id}/change/"
    staff_client.post(url, {"name": "Другое имя"})
    assert Terminal.objects.get().name == principal.name
    assert staff_client.post(f"/admin/pos/terminal/{principal.id}/delete/").status_code == 403
    assert terminal_authenticate(key) is not None
