"""manage.py campaign_send: a campaign with its persistent control group, its messages queued for
the target group with their variables filled, the control group written as held out, and a
second run with the same key and channel queueing nothing."""

import json
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from kopilka.campaigns.control import in_control_group
from kopilka.campaigns.models import Campaign, CampaignMember
from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.members.services import consents_change
from kopilka.messaging.models import Message, MessageTemplate
from kopilka.messaging.services import messages_send_due
from tests.conftest import enroll, points_move

NOON = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
TEXT = "{name}, у вас {balance} баллов; {expiring_points} сгорят {expiring_date}"


def send(*args: str) -> dict[str, Any]:
    out = StringIO()
    with clock.frozen_at(NOON):
        call_command("campaign_send", *args, stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def members(db: None) -> list[Any]:
    people = []
    for i in range(30):
        member = enroll(f"+7916{i:07d}", name=f"Гость {i}", email=f"guest{i}@example.ru")
        consents_change(
            member_id=member.pk,
            changes={"sms_marketing": True},
            source="test",
            actor=Actor.system("test"),
        )
        people.append(member)
    # the first member: 200 points earned 340 days ago (expire within 30 days), 50 recent
    points_move(people[0].pk, earn=200, at=NOON - timedelta(days=340))
    points_move(people[0].pk, earn=50, at=NOON - timedelta(days=5))
    return people


def test_a_campaign_is_queued_for_its_target_and_held_out_of_its_control(
    members: list[Any], settings: Any, tmp_path: Path
) -> None:
    settings.KOPILKA_VAR_DIR = tmp_path
    settings.KOPILKA_QUIET_HOURS = ""
    result = send(
        "--key", "dec-coffee", "--audience", "all", "--channel", "sms",
        "--text", TEXT, "--control-share", "0.2",
    )  # fmt: skip
    campaign = Campaign.objects.get(key="dec-coffee")
    audience = CampaignMember.objects.filter(campaign=campaign)
    held_out = {a.member_id for a in audience if a.in_control}
    assert result == {
        "campaign": "dec-coffee",
        "created": True,
        "channel": "sms",
        "queued": 30 - len(held_out),
        "control_group": len(held_out),
        "already_queued": 0,
    }
    assert 0 < len(held_out) < 30
    assert held_out == {
        m.pk
        for m in members
        if in_control_group(campaign_key="dec-coffee", member_id=m.pk, control_share=0.2)
    }
    rows = Message.objects.filter(campaign=campaign)
    assert {
        m.member_id for m in rows.filter(reason="control_group", status="suppressed")
    } == held_out
    first = rows.get(member_id=members[0].pk)
    assert first.text == "Гость 0, у вас 250 баллов; 200 сгорят 01.01.2027"  # the last valid day
    # again on the same channel: nothing new; on email: a row per member
    again = send(
        "--key", "dec-coffee", "--audience", "all", "--channel", "sms", "--text", TEXT
    )  # fmt: skip
    assert (again["created"], again["queued"], again["already_queued"]) == (False, 0, 30)
    by_email = send(
        "--key", "dec-coffee", "--audience", "all", "--channel", "email",
        "--text", TEXT, "--subject", "Новости для {name}",
    )  # fmt: skip
    assert by_email["queued"] + by_email["control_group"] == 30
    assert rows.count() == 60
    # the sender sends the target group alone (email has no consent here)
    with clock.frozen_at(NOON):
        while messages_send_due().handled:
            pass
    sent = set(rows.filter(status="sent").values_list("member_id", flat=True))
    assert sent == {m.pk for m in members} - held_out
    lines = (tmp_path / "outbox" / "sms.jsonl").read_text().splitlines()
    assert {json.loads(line)["member_id"] for line in lines} == sent
    assert rows.filter(channel="email", reason="no_consent").count() == 30 - len(held_out)


def test_a_campaign_with_a_template_and_no_control_group(members: list[Any], settings: Any) -> None:
    MessageTemplate.objects.create(
        name="digest", channel="email", language="ru", subject="{name}: ваши баллы",
        text="Баланс: {balance}",
    )  # fmt: skip
    result = send(
        "--key", "digest-dec", "--audience", "all", "--channel", "email",
        "--template", "digest", "--control-share", "0",
    )  # fmt: skip
    assert (result["queued"], result["control_group"]) == (30, 0)
    message = Message.objects.get(campaign__key="digest-dec", member_id=members[0].pk)
    assert (message.subject, message.text) == ("Гость 0: ваши баллы", "Баланс: 250")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--text", "Привет, {first_name}"], "{first_name}"),
        (["--text", "Скидка {"], "непарная фигурная скобка"),
        (["--text", "Кофе " * 60], "SMS занимает 6 частей"),  # with the unsubscribe link
        (["--template", "missing"], "Нет шаблона «missing»"),
        (["--text", "x", "--control-share", "1"], "от 0 до 1"),
        (["--text", "x", "--audience", "rfm:champions"], "аналитика ещё не посчитана"),
        (["--text", "x", "--audience", "rfm:nobody"], "Неизвестный RFM-сегмент"),
        (["--text", "x", "--audience", "vip"], "Аудитория — all"),
    ],
)
def test_a_bad_campaign_is_refused_and_writes_nothing(
    members: list[Any], args: list[str], error: str
) -> None:
    base = {"--key": "bad", "--audience": "all", "--channel": "sms"}
    for flag in list(base):
        if flag in args:
            del base[flag]
    with pytest.raises(CommandError, match=error):
        send(*[part for pair in base.items() for part in pair], *args)
    assert not Campaign.objects.exists() and not Message.objects.exists()


@pytest.mark.django_db
def test_texts_rendered_by_postgresql_are_the_texts_python_renders(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    """PostgreSQL renders a campaign's texts in its INSERT; SQLite, and a template with a format
    spec, in Python: both give every member the same text."""
    from kopilka.messaging import campaigns

    people = [
        enroll("+79160000001", name="Анна"),
        enroll("+79160000002", name=""),
        enroll("+79160000003", name="O'Brien 100% \\ «Кофе»"),
        enroll("+79160000004", name="Борис"),
    ]
    points_move(people[0].pk, earn=200, at=NOON - timedelta(days=340))  # expires within 30 days
    points_move(people[0].pk, earn=50, at=NOON - timedelta(days=5))
    points_move(people[2].pk, earn=70, at=NOON - timedelta(days=100))  # not soon
    points_move(people[3].pk, earn=30, at=NOON - timedelta(days=364, hours=20))  # tomorrow
    text = "{name}: {balance} б., {expiring_points} до {expiring_date} — 100% {{скобки}}"
    by_sql: list[object] = []
    original = campaigns._queue_in_sql
    monkeypatch.setattr(
        campaigns, "_queue_in_sql", lambda *args: by_sql.append(original(*args)) or by_sql[-1]
    )
    send("--key", "parity", "--audience", "all", "--channel", "sms", "--text", text,
         "--subject", "{name}", "--control-share", "0")  # fmt: skip
    assert (by_sql[0] is not None) == (connection.vendor == "postgresql")
    monkeypatch.setattr(campaigns, "_queue_in_sql", lambda *args: None)
    send("--key", "parity", "--audience", "all", "--channel", "email", "--text", text,
         "--subject", "{name}", "--control-share", "0")  # fmt: skip
    for language in ("ru", "en"):
        assert campaigns._date_pattern(language) is not None  # both go by SQL on PostgreSQL
    rendered = {
        (m.member_id, m.channel): (m.subject, m.text)
        for m in Message.objects.filter(trigger="campaign")
    }
    for member in people:
        assert rendered[(member.pk, "sms")] == rendered[(member.pk, "email")]
    assert rendered[(people[0].pk, "sms")][1].startswith("Анна: 250 б., 200 до ")
    assert rendered[(people[3].pk, "sms")][1].endswith(" — 100% {скобки}")
    assert campaigns._text_sql("{balance:>6}", "ru") is None  # a format spec: Python renders it
