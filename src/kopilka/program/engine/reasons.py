"""Reasons: a code and JSON-ready figures from the arithmetic, worded here and only here.

A quote carries reasons, purchases store them (`PurchaseLine.reasons`), and they are worded when
someone reads them, in the reader's language: the same figures always read the same, whatever
the program says today. Django's translation is imported inside `render`, so the engine runs
without Django configured.
"""

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

Params = dict[str, Any]


# Django's lookups cost tens of µs each (a receipt of 20 lines has about 40 of them), so the
# engine's texts are looked up once per language and process. Named gettext and ngettext, so
# that makemessages still finds the msgids.
@lru_cache(maxsize=4096)
def _translated(language: str | None, singular: str, plural: str, n: int) -> str:
    from django.utils import translation

    with translation.override(language):
        if not plural:
            return translation.gettext(singular)
        return translation.ngettext(singular, plural, n)


def _language() -> str | None:
    from django.utils.translation import get_language

    return get_language()


class _Texts:
    """The engine's gettext and ngettext in one language, looked up once per reason."""

    def __init__(self, language: str | None) -> None:
        self.language = language

    def gettext(self, message: str) -> str:
        return _translated(self.language, message, "", 0)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _translated(self.language, singular, plural, n)


@dataclass(frozen=True)
class Reason:
    code: str
    params: Params

    def render(self, language: str | None = None) -> str:
        """The reason worded in `language` (default: the active one)."""
        return render(self.code, self.params, language or _language())

    def stored(self) -> dict[str, object]:
        return {"code": self.code, **self.params}

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> "Reason":
        params = dict(data)
        return cls(params.pop("code"), params)


def _part(part: Params, texts: _Texts) -> str:
    _, ngettext = texts.gettext, texts.ngettext
    match part["kind"]:
        case "base":
            return _("%(percent)s%% base") % part
        case "mode":
            return _("%(percent)s%% card discount") % part
        case "level":
            return _("%(percent)s%% for your total spend") % part
        case "tier":
            return _("%(percent)s%% for the «%(tier)s» tier") % part
        case "tier_multiplier":
            return _("×%(multiplier)s for the «%(tier)s» tier") % part
        case "percent":
            return _("%(percent)s%% «%(name)s»") % part
        case "multiplier":
            return _("×%(multiplier)s «%(name)s»") % part
        case "per_unit" | "bonus":
            return (
                ngettext(
                    "%(points)s point «%(name)s»", "%(points)s points «%(name)s»", part["points"]
                )
                % part
            )
        case unknown:
            raise ValueError(f"no text for part {unknown!r}")


def render(code: str, p: Params, language: str | None) -> str:
    texts = _Texts(language)
    _, ngettext = texts.gettext, texts.ngettext
    match code:
        case "no_member" if p.get("mode", "points") != "points":
            return _("No member card: no discount and no points.")
        case "no_member":
            return _("No member card: no points are earned.")
        case "redeem":
            return (
                ngettext(
                    "%(points)s point pays %(money)s ₽ of this receipt.",
                    "%(points)s points pay %(money)s ₽ of this receipt.",
                    p["points"],
                )
                % p
            )
        case "redeem_cap" if p["limit"] == "lines":
            return (
                ngettext(
                    "Points pay only whole point values of each item: up to %(points)s point here.",
                    "Points pay only whole point values of each item: up to %(points)s points here.",
                    p["points"],
                )
                % p
            )
        case "redeem_cap":
            return (
                ngettext(
                    "At most %(share)s%% of a receipt can be paid with points: "
                    "up to %(points)s point here.",
                    "At most %(share)s%% of a receipt can be paid with points: "
                    "up to %(points)s points here.",
                    p["points"],
                )
                % p
            )
        case "earn" if p.get("rate") is None:
            return (
                ngettext(
                    "You earn %(points)s point on this receipt.",
                    "You earn %(points)s points on this receipt.",
                    p["points"],
                )
                % p
            )
        case "earn" if p["points"] == 0:
            return (
                _("You earn no points: %(rate)s%% of %(paid)s ₽ paid is less than one point.") % p
            )
        case "earn":
            return (
                ngettext(
                    "You earn %(points)s point: %(rate)s%% of %(paid)s ₽ paid.",
                    "You earn %(points)s points: %(rate)s%% of %(paid)s ₽ paid.",
                    p["points"],
                )
                % p
            )
        case "discount_total":
            return _("Discount on this receipt: %(money)s ₽.") % p
        case "bonus":
            return (
                ngettext(
                    "«%(name)s»: %(points)s bonus point.",
                    "«%(name)s»: %(points)s bonus points.",
                    p["points"],
                )
                % p
            )
        case "pending":
            return (
                ngettext(
                    "The points become available in %(days)s day.",
                    "The points become available in %(days)s days.",
                    p["days"],
                )
                % p
            )
        case "expiry":
            return (
                ngettext(
                    "Points are valid for %(days)s day.",
                    "Points are valid for %(days)s days.",
                    p["days"],
                )
                % p
            )
        case "balance_after" if p["pending"] > 0:
            return (
                ngettext(
                    "Balance after this receipt: %(available)s point available, %(pending)s pending.",
                    "Balance after this receipt: %(available)s points available, %(pending)s pending.",
                    p["available"],
                )
                % p
            )
        case "balance_after":
            return (
                ngettext(
                    "Balance after this receipt: %(available)s point available.",
                    "Balance after this receipt: %(available)s points available.",
                    p["available"],
                )
                % p
            )
        case "tier_reached" if p["privileges"]:
            privileges = "; ".join(p["privileges"])
            return _(
                "This purchase takes you to the «%(tier)s» tier: %(privileges)s. Its terms "
                "apply from your next purchase."
            ) % {**p, "privileges": privileges}
        case "tier_reached":
            return (
                _(
                    "This purchase takes you to the «%(tier)s» tier. Its terms apply from your "
                    "next purchase."
                )
                % p
            )
        case "line_voucher":
            return _("«%(name)s» by voucher: −%(money)s ₽") % p
        case "voucher_gift":
            return _("«%(name)s» by voucher: hand it to the customer.") % p
        case "tier_next":
            return _("%(money)s ₽ more to the «%(tier)s» tier.") % p
        case "tier_upgrade":
            return (
                _(
                    "%(spend)s ₽ spent in the last %(days)s days: the «%(tier)s» tier "
                    "(from %(threshold)s ₽)."
                )
                % p
            )
        case "tier_downgrade" if p["tier"]:
            return (
                _(
                    "%(spend)s ₽ spent in the last %(days)s days, below the «%(previous)s» tier's "
                    "%(threshold)s ₽ for the %(grace)s days of grace: the «%(tier)s» tier."
                )
                % p
            )
        case "tier_downgrade":
            return (
                _(
                    "%(spend)s ₽ spent in the last %(days)s days, below the «%(previous)s» tier's "
                    "%(threshold)s ₽ for the %(grace)s days of grace: no tier."
                )
                % p
            )
        case "tier_removed":
            return _("The program no longer has the «%(previous)s» tier.") % p
        case "tier_manual" if p["tier"]:
            return _("The «%(tier)s» tier set by staff until %(until)s: %(note)s") % p
        case "tier_manual":
            return _("No tier, set by staff until %(until)s: %(note)s") % p
        case "excluded":
            return _excluded(p, texts)
        case "line_discount":
            parts = " + ".join(_part(part, texts) for part in p["parts"])
            return _("Discount %(parts)s = %(money)s ₽") % {**p, "parts": parts}
        case "line_earn":
            parts = " + ".join(_part(part, texts) for part in p["parts"])
            text = ngettext(
                "%(parts)s = %(points)s point", "%(parts)s = %(points)s points", p["points"]
            )
            return text % {**p, "parts": parts}
        case "line_redeem":
            return (
                ngettext(
                    "%(points)s point paid %(money)s ₽",
                    "%(points)s points paid %(money)s ₽",
                    p["points"],
                )
                % p
            )
        case unknown:
            raise ValueError(f"no text for reason {unknown!r}")


def _excluded(p: Params, texts: _Texts) -> str:
    _ = texts.gettext
    actions = set(p["actions"])
    labels = {"tobacco": _("Tobacco"), "nicotine": _("Nicotine products")}
    what = labels.get(p["category"], p["category"])
    if p.get("law") and actions >= {"earn", "discount", "redeem"}:
        return _(
            "%(category)s: by law (15-FZ art. 16) no points, no discounts and no paying "
            "with points."
        ) % {"category": what}
    names = {
        "earn": _("no points"),
        "discount": _("no discounts"),
        "redeem": _("no paying with points"),
    }
    listed = ", ".join(names[a] for a in ("earn", "discount", "redeem") if a in actions)
    return _("%(category)s: %(actions)s under the program.") % {"category": what, "actions": listed}
