"""Actors and the audit record every service writes."""

from dataclasses import dataclass
from datetime import datetime

from kopilka.core import clock
from kopilka.core.models import AuditEntry
from kopilka.core.sql import insert_row


@dataclass(frozen=True)
class Actor:
    """Who acts: a staff user, a POS terminal, or the system (a scheduled job)."""

    label: str
    user_id: int | None = None
    terminal_id: int | None = None

    @classmethod
    def system(cls, job: str) -> "Actor":
        return cls(label=f"system:{job}")

    @classmethod
    def staff(cls, user: object) -> "Actor":
        return cls(
            label=f"staff:{getattr(user, 'username', '?')}", user_id=getattr(user, "pk", None)
        )


def audit_row(
    *,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: int | None,
    member_id: int | None = None,
    data: dict[str, object] | None = None,
    at: datetime | None = None,
) -> dict[str, object]:
    """The audit row as written: by `audit_record`, and by the one-statement purchase commit."""
    return {
        "created_at": at or clock.now(),
        "actor_user_id": actor.user_id,
        "actor_terminal_id": actor.terminal_id,
        "actor_label": actor.label,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "member_id": member_id,
        "data": data or {},
    }


def audit_record(
    *,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: int | None,
    member_id: int | None = None,
    data: dict[str, object] | None = None,
) -> None:
    insert_row(
        AuditEntry,
        **audit_row(
            actor=actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            member_id=member_id,
            data=data,
        ),
    )
