"""The audit page's rows: the services' own audit entries (purchases, returns, consents,
profile changes, program versions, adjustments…) and the admin's change log (rewards, templates,
users and their roles, members edited by staff), newest first, filtered by person, object and
period."""

from dataclasses import dataclass
from datetime import date, datetime

from django.contrib.admin.models import LogEntry
from django.db.models import Q

from kopilka.core.models import AuditEntry
from kopilka.staff.results import period_bounds

SHOWN = 200


@dataclass(frozen=True)
class Change:
    at: datetime
    who: str
    action: str
    target: str  # "member 42", "reward cap"
    details: str


def audit_changes(
    *, person: str = "", target: str = "", since: date | None = None, until: date | None = None
) -> list[Change]:
    entries = AuditEntry.objects.select_related("actor_user")
    log = LogEntry.objects.select_related("user", "content_type")
    if person:
        entries = entries.filter(Q(actor_user__username=person) | Q(actor_label__icontains=person))
        log = log.filter(user__username=person)
    if target:
        kind, _sep, number = target.partition(" ")
        entries = entries.filter(target_type__iexact=kind)
        log = log.filter(content_type__model__iexact=kind)
        if number.isdigit():
            entries = entries.filter(target_id=int(number))
            log = log.filter(object_id=number)
    if since and until:
        start, end = period_bounds(since, until)
        entries = entries.filter(created_at__gte=start, created_at__lt=end)
        log = log.filter(action_time__gte=start, action_time__lt=end)
    changes = [
        Change(
            e.created_at,
            e.actor_user.get_username() if e.actor_user else e.actor_label,
            e.action,
            f"{e.target_type} {e.target_id or ''}".strip(),
            ", ".join(f"{k}: {v}" for k, v in sorted((e.data or {}).items()))[:300],
        )
        for e in entries.order_by("-created_at", "-id")[:SHOWN]
    ]
    changes += [
        Change(
            e.action_time,
            e.user.get_username(),
            f"admin.{ {1: 'add', 2: 'change', 3: 'delete'}.get(e.action_flag, 'other') }",
            f"{e.content_type.model if e.content_type else ''} {e.object_id or ''}".strip(),
            f"{e.object_repr}: {e.get_change_message()}"[:300],
        )
        for e in log.order_by("-action_time", "-id")[:SHOWN]
    ]
    return sorted(changes, key=lambda c: c.at, reverse=True)[:SHOWN]
