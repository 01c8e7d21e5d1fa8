"""The staff API (/api/v1/staff/) with personal tokens: a token made on the profile page is shown
once and stored hashed, made once per form, revoked there; it acts with its person's roles, and
only while the person is active; the marketer changes the program through it; the manager sees
only their own stores; the OpenAPI schema documents it all under its own security scheme."""

import hashlib
import io
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.core.models import AuditEntry
from kopilka.pos.models import Store
from kopilka.pos.terminals import terminal_create
from kopilka.program.models import ProgramVersion, Simulation
from kopilka.program.selectors import program_in_force
from kopilka.staff.models import StaffProfile, StaffToken
from kopilka.staff.tokens import staff_token_create
from tests.conftest import Api, enroll, receipt, staff_user

pytestmark = pytest.mark.django_db

PROFILE = "/backoffice/profile/"
KEY = re.compile(r'<code class="token-key"[^>]*>(ks_[0-9a-f]{12}_[0-9a-f]+)</code>')


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form_key(page: str) -> str:
    found = re.search(r'name="key" value="([0-9a-f]{32})"', page)
    assert found, page
    return found.group(1)


def token_for(user: User, name: str = "script") -> str:
    return staff_token_create(user=user, name=name, actor=Actor.system("test")).key


def call(method: str, path: str, key: str | None, body: Any = None, **params: Any) -> Any:
    headers = {"Accept-Language": "en"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    client = Client()
    if method == "get":
        return client.get(f"/api/v1/staff{path}", params, headers=headers)
    return client.post(
        f"/api/v1/staff{path}", json.dumps(body), content_type="application/json", headers=headers
    )


def works_in(user: User, *stores: Store) -> User:
    StaffProfile.objects.create(user=user).stores.set(stores)
    return user


# --- the profile page -----------------------------------------------------------------------


def test_the_profile_page_shows_a_new_token_once_and_stores_only_its_hash() -> None:
    olga = works_in(
        staff_user("olga", role="store_manager"), Store.objects.create(code="c1", name="Первый")
    )
    client = signed_in(olga)
    page = client.get(PROFILE)
    assert page.status_code == 200 and "Первый" in page.content.decode()
    assert not KEY.search(page.content.decode())
    # when she creates a token
    made = client.post(PROFILE, {"name": "prices", "key": form_key(page.content.decode())})
    # then its key is on the page once, and the database holds only its SHA-256
    text = made.content.decode()
    assert made.status_code == 200
    key = KEY.search(text).group(1)  # type: ignore[union-attr]
    token = StaffToken.objects.get(user=olga)
    assert token.name == "prices" and key.startswith(f"ks_{token.key_prefix}_")
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in json.dumps(list(StaffToken.objects.values()), default=str)
    assert not AuditEntry.objects.filter(data__icontains=key.split("_")[-1]).exists()
    # and the page, opened again, lists the token by its prefix but never shows its key
    again = client.get(PROFILE).content.decode()
    assert key not in again and f"ks_{token.key_prefix}_" in again
    assert AuditEntry.objects.filter(action="staff_token.create", target_id=token.pk).exists()


def test_sending_the_form_twice_makes_one_token_and_shows_its_key_both_times() -> None:
    olga = staff_user("olga", role="cashier")
    client = signed_in(olga)
    form = {"name": "prices", "key": form_key(client.get(PROFILE).content.decode())}
    first = KEY.search(client.post(PROFILE, form).content.decode()).group(1)  # type: ignore[union-attr]
    second = KEY.search(client.post(PROFILE, form).content.decode()).group(1)  # type: ignore[union-attr]
    assert first == second
    assert StaffToken.objects.filter(user=olga).count() == 1
    assert call("get", "/me", second).status_code == 200
    # long after, a resent form makes no token and no longer shows the key
    StaffToken.objects.update(created_at=clock.now() - timedelta(hours=1))
    late = client.post(PROFILE, form)
    assert late.status_code == 400 and not KEY.search(late.content.decode())
    assert StaffToken.objects.filter(user=olga).count() == 1


def test_a_form_without_its_key_or_name_makes_nothing() -> None:
    client = signed_in(staff_user("olga", role="cashier"))
    assert client.post(PROFILE, {"name": "x", "key": "forged"}).status_code == 400
    page = client.get(PROFILE).content.decode()
    assert client.post(PROFILE, {"name": " ", "key": form_key(page)}).status_code == 400
    assert not StaffToken.objects.exists()


def test_the_profile_page_needs_a_role() -> None:
    assert Client().get(PROFILE).url.startswith("/admin/login/")
    nobody = User.objects.create_user("ivan", is_staff=True)
    assert signed_in(nobody).get(PROFILE).status_code == 403


def test_a_token_revoked_on_the_profile_page_stops_at_once() -> None:
    olga = staff_user("olga", role="marketer")
    key = token_for(olga)
    assert call("get", "/me", key).status_code == 200
    token = StaffToken.objects.get(user=olga)
    client = signed_in(olga)
    done = client.post(PROFILE, {"action": "revoke", "token": str(token.pk)})
    assert done.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    refused = call("get", "/me", key)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    assert "staff token" in refused.json()["error"]["message"]
    assert AuditEntry.objects.filter(action="staff_token.revoke", target_id=token.pk).exists()


def test_nobody_revokes_another_persons_token() -> None:
    key = token_for(staff_user("olga", role="marketer"))
    boris = signed_in(staff_user("boris", role="marketer"))
    token = StaffToken.objects.get()
    boris.post(PROFILE, {"action": "revoke", "token": str(token.pk)})
    assert call("get", "/me", key).status_code == 200


# --- the token on the API -------------------------------------------------------------------


def test_the_token_says_who_i_am_and_records_its_use() -> None:
    central = Store.objects.create(code="central", name="Центральный")
    olga = works_in(staff_user("olga", role="cashier", first_name="Ольга"), central)
    answer = call("get", "/me", token_for(olga))
    assert answer.status_code == 200
    assert answer.json() == {
        "id": olga.pk,
        "username": "olga",
        "full_name": "Ольга",
        "roles": ["cashier"],
        "all_stores": False,
        "stores": [{"code": "central", "name": "Центральный"}],
    }
    assert StaffToken.objects.get().last_used_at is not None


@pytest.mark.parametrize(
    "header", [None, "Bearer ks_0123456789ab_wrong", "Bearer nonsense", "Basic abc"]
)
def test_no_token_or_a_wrong_one_is_401(header: str | None) -> None:
    staff_user("olga")
    headers = {"Authorization": header} if header else {}
    answer = Client().get("/api/v1/staff/me", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorized"


def test_an_inactive_persons_token_is_401() -> None:
    olga = staff_user("olga", role="owner")
    key = token_for(olga)
    User.objects.filter(pk=olga.pk).update(is_active=False)
    assert call("get", "/me", key).status_code == 401
    User.objects.filter(pk=olga.pk).update(is_active=True, is_staff=False)
    assert call("get", "/me", key).status_code == 401


def test_terminal_keys_and_staff_tokens_open_only_their_own_api(api: Api) -> None:
    key = token_for(staff_user("olga", role="owner"))
    assert call("get", "/me", api.key).status_code == 401
    assert api.get("/program", key=key).status_code == 401
    assert api.get("/program").status_code == 200


def test_a_cashiers_token_cannot_touch_the_program() -> None:
    key = token_for(staff_user("olga", role="cashier"))
    document = {"earn_percent": "10"}
    versions = ProgramVersion.objects.count()
    for method, path, body in [
        ("get", "/program", None),
        ("post", "/program/versions", {"document": document}),
        ("post", "/program/preview", {"document": document}),
        ("post", "/program/simulations", {"draft": document}),
        ("get", "/program/simulations/1", None),
        ("get", "/results", None),
    ]:
        answer = call(method, path, key, body)
        assert answer.status_code == 403, path
        error = answer.json()["error"]
        assert error["code"] == "forbidden" and "Owner" in error["message"], error
    assert ProgramVersion.objects.count() == versions and not Simulation.objects.exists()


def test_a_store_manager_reads_the_program_but_cannot_change_it() -> None:
    key = token_for(staff_user("maria", role="store_manager"))
    answer = call("get", "/program", key)
    assert answer.status_code == 200 and answer.json()["id"] == program_in_force().version
    assert answer.json()["document"]["earn_percent"] == "5"
    assert call("post", "/program/versions", key, {"document": {}}).status_code == 403
    assert call("post", "/program/preview", key, {"document": {}}).status_code == 403


def test_a_marketer_makes_a_version_and_the_next_pos_quote_uses_it(
    api: Api, django_capture_on_commit_callbacks: Any
) -> None:
    enroll("+79161234567")
    key = token_for(staff_user("marina", role="marketer"))
    before = api.post("/receipts/calculate", receipt(("CAP", "1", "1000.00"), phone="+79161234567"))
    assert before.json()["totals"]["earn_points"] == 50
    # when the marketer sends a new document through the staff API
    with django_capture_on_commit_callbacks(execute=True):
        made = call(
            "post",
            "/program/versions",
            key,
            {"document": {"name": "Кофейня", "earn_percent": "10"}, "note": "lift"},
        )
    # then it is the version in force, and the next receipt earns by it
    assert made.status_code == 201, made.json()
    body = made.json()
    assert body["name"] == "Кофейня" and body["note"] == "lift" and body["id"] > 0
    assert body["document"]["earn_percent"] == "10" and isinstance(body["warnings"], list)
    assert program_in_force().version == body["id"]
    after = api.post("/receipts/calculate", receipt(("CAP", "1", "1000.00"), phone="+79161234567"))
    assert after.json()["program_version"] == body["id"]
    assert after.json()["totals"]["earn_points"] == 100
    version = ProgramVersion.objects.get(pk=body["id"])
    assert version.created_by == "staff:marina"
    assert call("get", "/program", key).json()["id"] == body["id"]


def test_an_invalid_document_is_a_json_error_naming_each_field() -> None:
    key = token_for(staff_user("marina", role="marketer"))
    versions = ProgramVersion.objects.count()
    answer = call(
        "post",
        "/program/versions",
        key,
        {"document": {"earn_percent": "ten", "rules": [{"code": "x"}], "colour": "red"}},
    )
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "document_invalid"
    assert {"document.earn_percent", "document.colour"} <= set(error["fields"])
    assert any(field.startswith("document.rules[0]") for field in error["fields"])
    assert ProgramVersion.objects.count() == versions
    not_an_object = call("post", "/program/versions", key, {"document": []})
    assert (
        not_an_object.status_code == 422 and "document" in not_an_object.json()["error"]["fields"]
    )


def test_a_version_cannot_take_effect_in_the_past_or_too_far_ahead() -> None:
    key = token_for(staff_user("marina", role="owner"))
    in_force = program_in_force().version
    for moment, code in [
        (clock.now() - timedelta(days=1), "effective_in_past"),
        (clock.now() + timedelta(days=20 * 365), "effective_too_far"),
    ]:
        body = {"document": {}, "effective_from": moment.isoformat()}
        answer = call("post", "/program/versions", key, body)
        assert answer.status_code == 422 and answer.json()["error"]["code"] == code
        assert "effective_from" in answer.json()["error"]["fields"]
    naive = call(
        "post", "/program/versions", key, {"document": {}, "effective_from": "2030-01-01T00:00"}
    )
    assert naive.status_code == 422 and "effective_from" in naive.json()["error"]["fields"]
    later = clock.now() + timedelta(days=3)
    planned = call(
        "post", "/program/versions", key, {"document": {}, "effective_from": later.isoformat()}
    )
    assert planned.status_code == 201 and program_in_force().version == in_force


def test_the_preview_prices_example_receipts_under_the_draft() -> None:
    Store.objects.create(code="central", name="Центральный")
    key = token_for(staff_user("marina", role="marketer"))
    draft = {"earn_percent": "10", "tiers": []}
    versions = ProgramVersion.objects.count()
    made_up = call("post", "/program/preview", key, {"document": draft})
    assert made_up.status_code == 200, made_up.json()
    examples = made_up.json()["examples"]
    assert examples and examples[0]["amount"] == "1000.00"
    assert examples[0]["draft"]["earn_points"] == 100 and examples[0]["live"]["earn_points"] == 50
    assert examples[0]["changed"] is True and made_up.json()["explanation"]
    own = call(
        "post",
        "/program/preview",
        key,
        {
            "document": draft,
            "receipts": [
                {"label": "кофе", "lines": [{"sku": "CAP", "quantity": "2", "price": "150.00"}]}
            ],
        },
    )
    assert own.status_code == 200, own.json()
    (example,) = own.json()["examples"]
    assert example["label"] == "кофе" and example["amount"] == "300.00"
    assert example["draft"] == {
        "discount": "0.00",
        "earn_points": 30,
        "max_redeemable": 90,
        "payable": "300.00",
    }
    assert example["live"]["earn_points"] == 15 and example["reasons"]
    assert ProgramVersion.objects.count() == versions
    bad = call("post", "/program/preview", key, {"document": {"earn_percent": "-1"}})
    assert bad.status_code == 422 and "document.earn_percent" in bad.json()["error"]["fields"]
    far = call(
        "post",
        "/program/preview",
        key,
        {
            "document": draft,
            "receipts": [
                {
                    "purchased_at": "9999-12-31T23:59:00-12:00",
                    "lines": [{"sku": "CAP", "price": "1.00"}],
                }
            ],
        },
    )
    assert far.status_code == 422 and "receipts.0.purchased_at" in far.json()["error"]["fields"]


def test_a_what_if_run_is_queued_and_followed_by_id() -> None:
    key = token_for(staff_user("maria", role="store_manager"))
    queued = call("post", "/program/simulations", key, {"draft": {"earn_percent": "7"}})
    assert queued.status_code == 202, queued.json()
    run = queued.json()
    assert run["status"] == "queued" and Simulation.objects.get().requested_by == "staff:maria"
    followed = call("get", f"/program/simulations/{run['id']}", key)
    assert followed.status_code == 200 and followed.json()["id"] == run["id"]
    missing = call("get", "/program/simulations/999999", key)
    assert missing.status_code == 404
    invalid = call("post", "/program/simulations", key, {"draft": {"earn_percent": "x"}})
    assert invalid.status_code == 422 and "draft.earn_percent" in invalid.json()["error"]["fields"]
    ancient = call("post", "/program/simulations", key, {"draft": {}, "since": "0001-01-01"})
    assert ancient.status_code == 422 and "since" in ancient.json()["error"]["fields"]


def test_the_results_show_only_the_callers_stores(api: Api) -> None:
    central = Store.objects.get(code="central")
    _north_terminal, north_key = terminal_create(
        store_code="north", store_name="Северный", actor=Actor.system("test")
    )
    api.post("/purchases", receipt(("A", "1", "100.00"), receipt_number="1"), idempotency_key="1")
    api.post(
        "/purchases",
        receipt(("A", "1", "100.00"), store="north", receipt_number="2"),
        idempotency_key="2",
        key=north_key,
    )
    maria = works_in(staff_user("maria", role="store_manager"), central)
    answer = call("get", "/results", token_for(maria))
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert [row["code"] for row in body["stores"]] == ["central"]
    assert body["stores"][0]["receipts"] == 1 and body["came_back_days"] == 30
    owner = call("get", "/results", token_for(staff_user("olga", role="owner")))
    assert {row["code"] for row in owner.json()["stores"]} == {"central", "north"}
    today = clock.business_date(clock.now())
    backwards = call(
        "get",
        "/results",
        token_for(maria, "second"),
        since=today.isoformat(),
        until=(today - timedelta(days=3)).isoformat(),
    )
    assert backwards.status_code == 422 and "until" in backwards.json()["error"]["fields"]
    assert call("get", "/results", token_for(maria, "third"), since="9999-12-31").status_code == 422


def test_the_openapi_schema_lists_the_staff_api_with_its_own_security_scheme() -> None:
    schema = Client().get("/api/v1/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["StaffTokenAuth"]["scheme"] == "bearer" and "TerminalAuth" in schemes
    staff_paths = {path for path in schema["paths"] if path.startswith("/api/v1/staff/")}
    assert staff_paths == {
        "/api/v1/staff/me",
        "/api/v1/staff/program",
        "/api/v1/staff/program/versions",
        "/api/v1/staff/program/preview",
        "/api/v1/staff/program/simulations",
        "/api/v1/staff/program/simulations/{simulation_id}",
        "/api/v1/staff/results",
    }
    for path in staff_paths:
        for operation in schema["paths"][path].values():
            assert operation["security"] == [{"StaffTokenAuth": []}], path
            assert {"401", "403", "422"} <= set(operation["responses"]), path
    assert schema["paths"]["/api/v1/purchases"]["post"]["security"] == [{"TerminalAuth": []}]


def test_a_document_with_text_utf8_cannot_hold_is_refused_not_a_crash() -> None:
    key = token_for(staff_user("marina", role="owner"))
    for path, raw in [
        ("/program/versions", '{"document": {"\\ud800": 1}}'),
        ("/program/preview", '{"document": {"name": "\\udfff"}}'),
        ("/program/simulations", '{"draft": {"\\ud800": 1}}'),
    ]:
        answer = Client().post(
            f"/api/v1/staff{path}",
            raw,
            content_type="application/json",
            headers={"Authorization": f"Bearer {key}"},
        )
        assert answer.status_code == 422, path
        assert answer.json()["error"]["code"] == "validation_error"


def test_the_owner_revokes_anyones_token_in_the_admin() -> None:
    key = token_for(staff_user("olga", role="cashier"))
    owner = User.objects.create_superuser("boss", "boss@example.org")
    token = StaffToken.objects.get(user__username="olga")
    done = signed_in(owner).post(
        "/admin/staff/stafftoken/", {"action": "revoke_tokens", "_selected_action": [token.pk]}
    )
    assert done.status_code == 302
    assert call("get", "/me", key).status_code == 401
    entry = AuditEntry.objects.get(action="staff_token.revoke")
    assert entry.actor_label == "staff:boss"


def test_a_script_gets_a_token_from_the_command_line() -> None:
    staff_user("olga", role="store_manager")
    out = io.StringIO()
    call_command("create_staff_token", "olga", "--name", "nightly", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    assert call("get", "/me", key).json()["roles"] == ["store_manager"]
    assert StaffToken.objects.get().name == "nightly"


def test_who_am_i_costs_a_few_queries(django_assert_max_num_queries: Any) -> None:
    olga = works_in(staff_user("olga", role="cashier"), Store.objects.create(code="c", name="C"))
    key = token_for(olga)
    call("get", "/me", key)  # "last used" written once a minute, not on every call
    with django_assert_max_num_queries(6):
        assert call("get", "/me", key).status_code == 200
