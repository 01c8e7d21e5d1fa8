"""A member's own data, to download (152-FZ art. 14): the profile, every consent decision, the
purchases with their lines, the point operations and the messages sent, as JSON; the purchases
and operations also as one CSV table for a spreadsheet."""

import csv
import io
from typing import Any

from kopilka.core.money import format_rubles
from kopilka.ledger.models import Transfer
from kopilka.ledger.selectors import transfer_description
from kopilka.members.models import Consent, Member
from kopilka.messaging.models import Message
from kopilka.pos.models import Purchase


def member_export(member: Member) -> dict[str, Any]:
    purchases = (
        Purchase.objects.filter(member_id=member.pk)
        .select_related("store")
        .prefetch_related("lines")
        .order_by("created_at", "pk")
    )
    transfers = (
        Transfer.objects.filter(member_id=member.pk)
        .select_related("purchase", "purchase__store")
        .order_by("created_at", "pk")
    )
    return {
        "profile": {
            "id": member.pk,
            "phone": member.phone,
            "name": member.name,
            "email": member.email,
            "birth_date": member.birth_date.isoformat() if member.birth_date else None,
            "joined_at": member.created_at.isoformat(),
            "cards": [
                {"number": c.number, "status": c.status, "issued_at": c.issued_at.isoformat()}
                for c in member.cards.order_by("issued_at", "pk")
            ],
        },
        "consents": [
            {
                "purpose": c.purpose,
                "channel": c.channel,
                "given": c.given,
                "recorded_at": c.recorded_at.isoformat(),
                "source": c.source,
                "text_version": c.text_version,
            }
            for c in Consent.objects.filter(member=member).order_by("recorded_at", "pk")
        ],
        "purchases": [
            {
                "receipt_number": p.receipt_number,
                "store": p.store.name,
                "at": p.created_at.isoformat(),
                "amount": format_rubles(p.amount),
                "discount": format_rubles(p.discount),
                "points_redeemed": p.redeem_points,
                "points_earned": p.earn_points,
                "lines": [
                    {
                        "sku": line.sku,
                        "name": line.name,
                        "quantity": str(line.quantity),
                        "amount": format_rubles(line.amount),
                        "discount": format_rubles(line.discount),
                        "points_redeemed": line.redeem_points,
                        "points_earned": line.earn_points,
                    }
                    for line in p.lines.all()
                ],
            }
            for p in purchases
        ],
        "point_operations": [
            {
                "at": t.created_at.isoformat(),
                "kind": t.kind,
                "points": t.points,
                "description": transfer_description(t),
            }
            for t in transfers
        ],
        "messages": [
            {
                "channel": m.channel,
                "purpose": m.purpose,
                "trigger": m.trigger,
                "status": m.status,
                "queued_at": m.created_at.isoformat(),
                "sent_at": m.sent_at.isoformat() if m.sent_at else None,
                "text": m.text,
            }
            for m in Message.objects.filter(member=member).order_by("created_at", "pk")
        ],
    }


CSV_COLUMNS = ("kind", "at", "receipt", "store", "amount", "points", "description")


def member_export_csv(data: dict[str, Any]) -> str:
    """The purchases and point operations of an export as one table (`;`-separated, as Excel
    in Russian opens it)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(CSV_COLUMNS)
    for p in data["purchases"]:
        writer.writerow(
            (
                "purchase",
                p["at"],
                p["receipt_number"],
                p["store"],
                p["amount"],
                p["points_earned"],
                "",
            )
        )
    for t in data["point_operations"]:
        writer.writerow((t["kind"], t["at"], "", "", "", t["points"], t["description"]))
    return out.getvalue()
