"""What the cashier should say to this member now, one line each, from the program in force and
the member's own figures: what the points pay, what burns soon, the next tier and what it
gives, a reward within reach, and the rules that hold right now in this store."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext as _

from kopilka.core.money import number_text, points_text, rubles_text
from kopilka.ledger.selectors import member_balance
from kopilka.members.models import Member
from kopilka.members.tiers import tier_status
from kopilka.messaging.texts import valid_through
from kopilka.program.engine import Program, Rule
from kopilka.rewards.services import rewards_for_member


def talking_points(
    member: Member, program: Program, now: datetime, *, store: str, time_zone: str
) -> list[str]:
    """The lines, most useful first."""
    language = member.language or settings.LANGUAGE_CODE
    name = member.name.split()[0] if member.name.strip() else _("The member")
    balance = member_balance(member.pk, now, expiring_limit=1)
    lines = []
    if balance.available:
        lines.append(
            _("%(name)s has %(points)s: that is %(money)s off this receipt.")
            % {
                "name": name,
                "points": points_text(balance.available),
                "money": rubles_text(balance.available * program.point_value),
            }
        )
    elif program.mode == "points":
        lines.append(
            _("%(name)s has no points yet: this purchase earns %(percent)s %% back.")
            % {"name": name, "percent": number_text(int(program.earn_percent))}
        )
    soon = now + timedelta(days=settings.KOPILKA_EXPIRY_WARNING_DAYS)
    if balance.expiring and balance.expiring[0].expires_at <= soon:
        first = balance.expiring[0]
        lines.append(
            _("%(points)s burn after %(day)s: better spend them today.")
            % {
                "points": points_text(first.points),
                "day": valid_through(first.expires_at, language),
            }
        )
    status = tier_status(member, program, now)
    if status is not None and status.next is not None:
        gives = status.next.privileges[0] if status.next.privileges else ""
        text = _("%(money)s more to «%(tier)s»") % {
            "money": rubles_text(status.next_spend_needed),
            "tier": status.next.name,
        }
        lines.append(f"{text}: {gives}." if gives else f"{text}.")
    if status is not None and status.tier is not None and status.keep_spend_needed:
        lines.append(
            _("To keep «%(tier)s», %(money)s more by %(day)s.")
            % {
                "tier": status.tier.name,
                "money": rubles_text(status.keep_spend_needed),
                "day": status.keep_by.strftime("%d.%m.%Y") if status.keep_by else "",
            }
        )
    offers = rewards_for_member(member, now)
    affordable = [o for o in offers if o.affordable]
    if affordable:
        best = max(affordable, key=lambda o: o.reward.points_price)
        lines.append(
            _("Can take «%(reward)s» for %(points)s.")
            % {"reward": best.reward.name, "points": points_text(best.reward.points_price)}
        )
    else:
        near = [o for o in offers if o.points_missing and not o.limit_reached]
        if near:
            closest = min(near, key=lambda o: o.points_missing)
            lines.append(
                _("%(points)s short of «%(reward)s».")
                % {"points": points_text(closest.points_missing), "reward": closest.reward.name}
            )
    local = now.astimezone(ZoneInfo(time_zone))
    for rule in program.rules:
        if _holds_now(rule, local, store):
            lines.append(_("Now: %(rule)s.") % {"rule": rule.name})
    return lines


def _holds_now(rule: Rule, local: datetime, store: str) -> bool:
    """The rule's time, day and store conditions hold at this moment (its other conditions are
    about the receipt or the member, and the quote applies them)."""
    when = rule.when
    if when.weekdays is not None and local.isoweekday() not in when.weekdays:
        return False
    if when.date_from is not None and local.date() < when.date_from:
        return False
    if when.date_to is not None and local.date() > when.date_to:
        return False
    if when.time_from is not None and local.time() < when.time_from:
        return False
    if when.time_to is not None and local.time() >= when.time_to:
        return False
    limited_in_time = any(
        v is not None
        for v in (when.weekdays, when.date_from, when.date_to, when.time_from, when.time_to)
    )
    return limited_in_time and (when.stores is None or store in when.stores)
