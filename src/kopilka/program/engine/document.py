"""The program document: JSON in, `Program` out, and back.

The document is what an owner writes and what `program_apply`, the admin and `GET
/api/v1/program` exchange (the README documents it field by field). Money travels as decimal
strings with at most two decimals and becomes integer kopecks; percentages and multipliers are
decimal strings and become `Decimal`; times are "HH:MM" (the store's clock, `time_to` exclusive),
dates ISO, weekdays ISO (1 = Monday).

Reading is strict: an unknown key, a number where a string belongs or a value out of bounds is a
problem, and `DocumentError` lists every problem at once with its JSON path
(`rules[2].then.earn_multiplier: must be greater than 0`), so a typo never passes silently and
an owner fixes the whole file in one go. Pure: no Django at import time; messages are worded
with Django's gettext only when Django is configured (English otherwise).
"""

import difflib
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import date, time
from decimal import Decimal
from typing import Any, TypeVar

from kopilka.program.engine.values import (
    ACTIONS,
    COMBINES,
    LAW_EXCLUDED,
    MODES,
    Action,
    BirthdayBonus,
    Combine,
    DiscountLevel,
    EventBonus,
    EventBonuses,
    Limit,
    Mode,
    Program,
    ReferralBonus,
    Rule,
    Then,
    Tier,
    When,
)

T = TypeVar("T")

TOP_KEYS = (
    "mode",
    "name",
    "point_value",
    "earn_percent",
    "redeem_max_percent",
    "pending_days",
    "expiry_days",
    "discount_percent",
    "discount_levels",
    "excluded_categories",
    "rules",
    "tiers",
    "tier_window_days",
    "tier_grace_days",
    "bonuses",
)
BONUS_KINDS = ("welcome", "birthday", "profile_completed", "referral")
BONUS_KEYS = {
    "welcome": ("points", "expiry_days"),
    "birthday": ("points", "days_before", "days_after", "expiry_days"),
    "profile_completed": ("points", "expiry_days"),
    "referral": ("referrer_points", "friend_points", "after_days", "expiry_days"),
}
TIER_KEYS = (
    "code",
    "name",
    "qualify_spend",
    "earn_multiplier",
    "redeem_max_percent",
    "discount_percent",
    "privileges",
)
MAX_TIERS = 20
MAX_PRIVILEGES = 10
PRIVILEGE_LENGTH = 120
LEVEL_KEYS = ("from_spend", "percent")
RULE_KEYS = ("code", "name", "priority", "combine", "when", "then", "limit")
WHEN_KEYS = (
    "categories",
    "skus",
    "weekdays",
    "time_from",
    "time_to",
    "date_from",
    "date_to",
    "stores",
    "min_receipt",
    "enrolled_within_days",
)
THEN_KEYS = (
    "earn_multiplier",
    "earn_percent",
    "points_per_unit",
    "bonus_points",
    "discount_percent",
)
LIMIT_KEYS = ("per_member_per_day", "per_member_per_month")

RULE_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_TIME = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

MAX_MONEY = 1_000_000_000_00  # kopecks: a billion roubles, far above any receipt or threshold
MAX_POINTS = 1_000_000
MAX_LIMIT = 1_000_000
MAX_PRIORITY = 1_000_000
MAX_RULES = 500
MAX_LIST = 1000
NAME_LENGTH = 200
CODE_LENGTH = {"categories": 100, "skus": 64, "stores": 32}  # as the receipt's columns
DECIMAL_PLACES = 2
ROOT = "(document)"


def _(message: str) -> str:
    """gettext when Django is configured; the English msgid otherwise (benches, plain scripts)."""
    from django.conf import settings

    if not settings.configured:
        return message
    from django.utils.translation import gettext

    return gettext(message)


class DocumentError(ValueError):
    """A document that cannot be a program; `problems` lists every (json_path, message)."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(f"{path}: {message}" for path, message in self.problems)

    def fields(self, field: str) -> dict[str, str]:
        """The problems as an API error's fields, under the request's `field` that held the
        document: "draft.rules[0].then" (the whole document: "draft"). The first problem of a
        path is kept."""
        fields: dict[str, str] = {}
        for path, message in self.problems:
            fields.setdefault(f"{field}.{path}" if path != ROOT else field, message)
        return fields


class _Missing:
    pass


MISSING: Any = _Missing()


def _key(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _index(path: str, index: int) -> str:
    return f"{path}[{index}]"


class _Reader:
    """Collects problems while reading; each read returns MISSING when its value is unusable."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def problem(self, path: str, message: str) -> Any:
        self.problems.append((path or ROOT, message))
        return MISSING

    def mapping(self, value: object, path: str, keys: Sequence[str]) -> dict[str, Any] | None:
        """A JSON object whose keys are all among `keys`; None (after a problem) otherwise."""
        if not isinstance(value, dict):
            self.problem(path, _("must be an object"))
            return None
        for name in value:
            if name not in keys:
                self._unknown(path, str(name), keys)
        return value

    def _unknown(self, path: str, name: str, keys: Sequence[str]) -> None:
        close = difflib.get_close_matches(name, keys, n=1)
        if close:
            message = _("unknown key; did you mean “%(key)s”?") % {"key": close[0]}
        else:
            message = _("unknown key; the keys here are: %(keys)s") % {"keys": ", ".join(keys)}
        self.problem(_key(path, name), message)

    def integer(self, value: object, path: str, low: int, high: int) -> Any:
        if type(value) is not int:
            return self.problem(path, _("must be a whole number"))
        return self._within(value, path, low, high)

    def _within(self, value: Any, path: str, low: Any, high: Any, shown: str = "") -> Any:
        if value < low:
            if low == 0:
                return self.problem(path, _("must not be negative"))
            if low == 1 and type(value) is int:
                return self.problem(path, _("must be at least 1"))
            return self.problem(path, _("must be at least %(low)s") % {"low": shown or low})
        if value > high:
            return self.problem(path, _("must be at most %(high)s") % {"high": high})
        return value

    def decimal(self, value: object, path: str) -> Any:
        """A decimal string ("5", "12.50") with at most two decimals."""
        if not isinstance(value, str) or not _DECIMAL.fullmatch(value):
            return self.problem(path, _("must be a decimal number written as a string, e.g. “5”"))
        number = Decimal(value)
        if -number.as_tuple().exponent > DECIMAL_PLACES:  # type: ignore[operator]
            return self.problem(path, _("must have at most 2 decimal places"))
        return _plain(number)

    def percent(self, value: object, path: str) -> Any:
        number = self.decimal(value, path)
        if number is MISSING:
            return MISSING
        return self._within(number, path, 0, 100)

    def multiplier(self, value: object, path: str) -> Any:
        number = self.decimal(value, path)
        if number is MISSING:
            return MISSING
        if number <= 0:
            return self.problem(path, _("must be greater than 0"))
        return self._within(number, path, 0, 100)

    def money(self, value: object, path: str, *, positive: bool = False) -> Any:
        """Roubles as a decimal string with at most two decimals -> kopecks."""
        number = self.decimal(value, path)
        if number is MISSING:
            return MISSING
        kopecks = int(number * 100)
        if positive and kopecks <= 0:
            return self.problem(path, _("must be greater than 0"))
        if kopecks < 0:
            return self.problem(path, _("must not be negative"))
        if kopecks > MAX_MONEY:
            return self.problem(
                path, _("must be at most %(high)s") % {"high": money_text(MAX_MONEY)}
            )
        return kopecks

    def text(self, value: object, path: str, max_length: int) -> Any:
        if not isinstance(value, str):
            return self.problem(path, _("must be a string"))
        if not value.strip():
            return self.problem(path, _("must not be blank"))
        if value != value.strip():
            return self.problem(path, _("must not start or end with spaces"))
        if any(unicodedata.category(char) in ("Cc", "Cs") for char in value):
            return self.problem(path, _("must not contain control characters"))
        if len(value) > max_length:
            return self.problem(
                path,
                _("must be at most %(count)d characters long") % {"count": max_length},
            )
        return value

    def choice(self, value: object, path: str, choices: Sequence[str]) -> Any:
        if not isinstance(value, str) or value not in choices:
            return self.problem(
                path, _("must be one of: %(choices)s") % {"choices": ", ".join(choices)}
            )
        return value

    def clock(self, value: object, path: str) -> Any:
        match = _TIME.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            return self.problem(path, _("must be a time of day as “HH:MM”, e.g. “07:30”"))
        return time(int(match[1]), int(match[2]))

    def day(self, value: object, path: str) -> Any:
        if not isinstance(value, str) or not _DATE.fullmatch(value):
            return self.problem(path, _("must be a date as “YYYY-MM-DD”"))
        try:
            return date.fromisoformat(value)
        except ValueError:
            return self.problem(path, _("is not a date in the calendar"))

    def items(
        self, value: object, path: str, read: Callable[[object, str], T], *, empty: bool = True
    ) -> list[T] | None:
        """A list read item by item; duplicates are problems (each list is a set or ordered)."""
        if not isinstance(value, list):
            self.problem(path, _("must be a list"))
            return None
        if not value and not empty:
            self.problem(path, _("must not be empty (leave the key out for no condition)"))
            return None
        if len(value) > MAX_LIST:
            self.problem(path, _("must have at most %(count)d items") % {"count": MAX_LIST})
            return None
        result: list[T] = []
        seen: list[object] = []
        for number, item in enumerate(value):
            read_item = read(item, _index(path, number))
            if read_item is MISSING:
                continue
            if read_item in seen:
                self.problem(_index(path, number), _("is listed twice"))
                continue
            seen.append(read_item)
            result.append(read_item)
        return result


def _plain(number: Decimal) -> Decimal:
    """5.00 -> 5, 1E+2 -> 100, -0 -> 0: one spelling of each number, so str() reads well."""
    return Decimal(format(Decimal(number).normalize(), "f")) + 0


def money_text(kopecks: int) -> str:
    """12345 -> "123.45": money as the document writes it."""
    sign = "-" if kopecks < 0 else ""
    whole, cents = divmod(abs(kopecks), 100)
    return f"{sign}{whole}.{cents:02d}"


def decimal_text(number: Decimal) -> str:
    """Decimal("5.00") -> "5", Decimal("12.5") -> "12.5": a percentage as the document writes it."""
    return format(_plain(number), "f")


def _defaults() -> Program:
    return Program()


def program_from_document(doc: object, *, version: int = 0) -> Program:
    """The program a document describes, or DocumentError listing every problem in it.

    Absent top-level keys take `Program()`'s defaults; an absent `excluded_categories` means the
    law's exclusions (tobacco and nicotine from every action), never "nothing excluded".
    """
    reader = _Reader()
    top = reader.mapping(doc, "", TOP_KEYS)
    if top is None:
        raise DocumentError(reader.problems)
    default = _defaults()
    values: dict[str, Any] = {}

    def read(name: str, reading: Callable[[object, str], Any]) -> None:
        if name in top:
            value = reading(top[name], name)
            values[name] = value if value is not MISSING else getattr(default, name)

    read("mode", lambda value, path: reader.choice(value, path, MODES))
    read("name", lambda value, path: reader.text(value, path, NAME_LENGTH))
    read("point_value", lambda value, path: reader.money(value, path, positive=True))
    read("earn_percent", reader.percent)
    read("redeem_max_percent", reader.percent)
    read("pending_days", lambda value, path: reader.integer(value, path, 0, 365))
    read("expiry_days", lambda value, path: reader.integer(value, path, 1, 3650))
    read("discount_percent", reader.percent)
    read("discount_levels", lambda value, path: _levels(reader, value, path))
    read("excluded_categories", lambda value, path: _excluded(reader, value, path))
    read("rules", lambda value, path: _rules(reader, value, path))
    read("tiers", lambda value, path: _tiers(reader, value, path))
    read("tier_window_days", lambda value, path: reader.integer(value, path, 1, 3650))
    read("tier_grace_days", lambda value, path: reader.integer(value, path, 0, 365))
    read("bonuses", lambda value, path: _bonuses(reader, value, path))

    mode = values.get("mode", default.mode)
    if mode == "accumulating_discount":
        levels = top.get("discount_levels", [])
        if not levels and not any(
            path.startswith("discount_levels") for path, _m in reader.problems
        ):
            reader.problem(
                "discount_levels",
                _("the accumulating discount needs at least one level, the first from “0.00”"),
            )
    discount = values.get("discount_percent", default.discount_percent)
    if mode == "discount" and discount == 0 and "discount_percent" not in dict(reader.problems):
        reader.problem("discount_percent", _("the discount card needs a discount greater than 0"))
    if reader.problems:
        raise DocumentError(reader.problems)
    return Program(**values, version=version)


def _levels(reader: _Reader, value: object, path: str) -> Any:
    if not isinstance(value, list):
        return reader.problem(path, _("must be a list"))
    levels: list[DiscountLevel] = []
    previous: int | None = None
    for number, item in enumerate(value):
        at = _index(path, number)
        level = reader.mapping(item, at, LEVEL_KEYS)
        if level is None:
            previous = None
            continue
        spend = _required(reader, level, at, "from_spend", reader.money)
        percent = _required(reader, level, at, "percent", reader.percent)
        if spend is not MISSING:
            if number == 0 and spend != 0:
                reader.problem(_key(at, "from_spend"), _("the first level must start from “0.00”"))
            elif previous is not None and spend <= previous:
                reader.problem(
                    _key(at, "from_spend"),
                    _("must be greater than the previous level’s (%(previous)s)")
                    % {"previous": money_text(previous)},
                )
            previous = spend
        if spend is not MISSING and percent is not MISSING:
            levels.append(DiscountLevel(from_spend=spend, percent=percent))
    return tuple(levels)


def _tiers(reader: _Reader, value: object, path: str) -> Any:
    if not isinstance(value, list):
        return reader.problem(path, _("must be a list"))
    if len(value) > MAX_TIERS:
        return reader.problem(path, _("must have at most %(count)d tiers") % {"count": MAX_TIERS})
    tiers: list[Tier] = []
    codes: set[str] = set()
    previous: int | None = None
    for number, item in enumerate(value):
        at = _index(path, number)
        tier = reader.mapping(item, at, TIER_KEYS)
        if tier is None:
            previous = None
            continue
        code = _required(reader, tier, at, "code", lambda v, p: _code(reader, v, p))
        if code is not MISSING and code in codes:
            code = reader.problem(_key(at, "code"), _("is the code of an earlier tier"))
        elif code is not MISSING:
            codes.add(code)
        name = _required(reader, tier, at, "name", lambda v, p: reader.text(v, p, NAME_LENGTH))
        spend = _required(
            reader, tier, at, "qualify_spend", lambda v, p: reader.money(v, p, positive=True)
        )
        if spend is not MISSING:
            if previous is not None and spend <= previous:
                reader.problem(
                    _key(at, "qualify_spend"),
                    _("must be greater than the previous tier’s (%(previous)s)")
                    % {"previous": money_text(previous)},
                )
            previous = spend
        figures: dict[str, Any] = {}
        for figure, reading in (
            ("earn_multiplier", reader.multiplier),
            ("redeem_max_percent", reader.percent),
            ("discount_percent", reader.percent),
        ):
            if figure in tier:
                figures[figure] = reading(tier[figure], _key(at, figure))
        privileges: Any = ()
        if "privileges" in tier:
            at_privileges = _key(at, "privileges")
            read = reader.items(
                tier["privileges"], at_privileges, lambda v, p: reader.text(v, p, PRIVILEGE_LENGTH)
            )
            if read is not None and len(read) > MAX_PRIVILEGES:
                reader.problem(
                    at_privileges,
                    _("must have at most %(count)d items") % {"count": MAX_PRIVILEGES},
                )
            privileges = tuple(read or ())
        if MISSING not in (code, name, spend, *figures.values()):
            tiers.append(
                Tier(code=code, name=name, qualify_spend=spend, privileges=privileges, **figures)
            )
    return tuple(tiers)


def _bonuses(reader: _Reader, value: object, path: str) -> Any:
    top = reader.mapping(value, path, BONUS_KINDS)
    if top is None:
        return MISSING
    read: dict[str, Any] = {}
    for kind in BONUS_KINDS:
        if kind not in top:
            continue
        at = _key(path, kind)
        bonus = reader.mapping(top[kind], at, BONUS_KEYS[kind])
        if bonus is None:
            continue

        def points(name: str, bonus: dict[str, Any] = bonus, at: str = at) -> Any:
            return _required(
                reader, bonus, at, name, lambda v, p: reader.integer(v, p, 1, MAX_POINTS)
            )

        figures: dict[str, Any] = {}
        if kind == "referral":
            figures["referrer_points"] = points("referrer_points")
            figures["friend_points"] = points("friend_points")
            if "after_days" in bonus:
                figures["after_days"] = reader.integer(
                    bonus["after_days"], _key(at, "after_days"), 0, 365
                )
        else:
            figures["points"] = points("points")
        for name in ("days_before", "days_after"):
            if name in bonus:
                figures[name] = reader.integer(bonus[name], _key(at, name), 0, 60)
        if "expiry_days" in bonus:
            figures["expiry_days"] = reader.integer(
                bonus["expiry_days"], _key(at, "expiry_days"), 1, 3650
            )
        if MISSING in figures.values():
            continue
        kinds = {"birthday": BirthdayBonus, "referral": ReferralBonus}
        read[kind] = kinds.get(kind, EventBonus)(**figures)
    return EventBonuses(**read)


def _required(
    reader: _Reader,
    container: Mapping[str, Any],
    path: str,
    name: str,
    reading: Callable[[object, str], Any],
) -> Any:
    if name not in container:
        return reader.problem(_key(path, name), _("is required"))
    return reading(container[name], _key(path, name))


def _excluded(reader: _Reader, value: object, path: str) -> Any:
    if not isinstance(value, dict):
        return reader.problem(path, _("must be an object"))
    excluded: dict[str, frozenset[Action]] = {}
    for category, actions in value.items():
        at = _key(path, str(category))
        if reader.text(category, at, CODE_LENGTH["categories"]) is MISSING:
            continue
        read = reader.items(actions, at, lambda item, p: reader.choice(item, p, ACTIONS))
        if read is not None:
            excluded[category] = frozenset(read)
    return excluded


def _rules(reader: _Reader, value: object, path: str) -> Any:
    if not isinstance(value, list):
        return reader.problem(path, _("must be a list"))
    if len(value) > MAX_RULES:
        return reader.problem(path, _("must have at most %(count)d rules") % {"count": MAX_RULES})
    rules: list[Rule] = []
    codes: dict[str, int] = {}
    for number, item in enumerate(value):
        at = _index(path, number)
        rule = _rule(reader, item, at)
        code = item.get("code") if isinstance(item, dict) else None
        if isinstance(code, str) and RULE_CODE.fullmatch(code):
            if code in codes:
                reader.problem(
                    _key(at, "code"),
                    _("is already the code of %(other)s") % {"other": _index(path, codes[code])},
                )
            else:
                codes[code] = number
        if rule is not None:
            rules.append(rule)
    return tuple(rules)


def _code(reader: _Reader, value: object, path: str) -> Any:
    if not isinstance(value, str) or not RULE_CODE.fullmatch(value):
        return reader.problem(
            path,
            _(
                "must be 1 to 64 lower-case Latin letters, digits, “-” or “_”, "
                "starting with a letter or digit"
            ),
        )
    return value


def _rule(reader: _Reader, value: object, path: str) -> Rule | None:
    rule = reader.mapping(value, path, RULE_KEYS)
    if rule is None:
        return None
    before = len(reader.problems)
    code = _required(reader, rule, path, "code", lambda v, p: _code(reader, v, p))
    name = _required(reader, rule, path, "name", lambda v, p: reader.text(v, p, NAME_LENGTH))
    priority = 0
    if "priority" in rule:
        priority = reader.integer(
            rule["priority"], _key(path, "priority"), -MAX_PRIORITY, MAX_PRIORITY
        )
    combine: Combine = "stack"
    if "combine" in rule:
        combine = reader.choice(rule["combine"], _key(path, "combine"), COMBINES)
    when = _when(reader, rule.get("when", {}), _key(path, "when"))
    then = _required(reader, rule, path, "then", lambda v, p: _then(reader, v, p))
    limit = _limit(reader, rule.get("limit", {}), _key(path, "limit"))
    if len(reader.problems) > before:
        return None
    return Rule(
        code=code,
        name=name,
        priority=priority,
        combine=combine,
        when=when,
        then=then,
        limit=limit,
    )


def _codes(reader: _Reader, kind: str) -> Callable[[object, str], Any]:
    return lambda value, path: reader.text(value, path, CODE_LENGTH[kind])


def _when(reader: _Reader, value: object, path: str) -> Any:
    when = reader.mapping(value, path, WHEN_KEYS)
    if when is None:
        return MISSING
    read: dict[str, Any] = {}
    for kind in ("categories", "skus", "stores"):
        if kind in when:
            items = reader.items(when[kind], _key(path, kind), _codes(reader, kind), empty=False)
            read[kind] = frozenset(items) if items is not None else MISSING
    if "weekdays" in when:
        days = reader.items(
            when["weekdays"],
            _key(path, "weekdays"),
            lambda value, at: reader.integer(value, at, 1, 7),
            empty=False,
        )
        read["weekdays"] = frozenset(days) if days is not None else MISSING
    for name in ("time_from", "time_to"):
        if name in when:
            read[name] = reader.clock(when[name], _key(path, name))
    for name in ("date_from", "date_to"):
        if name in when:
            read[name] = reader.day(when[name], _key(path, name))
    if "min_receipt" in when:
        read["min_receipt"] = reader.money(when["min_receipt"], _key(path, "min_receipt"))
    if "enrolled_within_days" in when:
        read["enrolled_within_days"] = reader.integer(
            when["enrolled_within_days"], _key(path, "enrolled_within_days"), 1, 3650
        )
    start, end = read.get("time_from"), read.get("time_to")
    if isinstance(start, time) and isinstance(end, time) and start >= end:
        reader.problem(
            _key(path, "time_to"),
            _("must be later than time_from (%(start)s); the end is exclusive")
            % {"start": start.strftime("%H:%M")},
        )
    first, last = read.get("date_from"), read.get("date_to")
    if isinstance(first, date) and isinstance(last, date) and first > last:
        reader.problem(
            _key(path, "date_to"),
            _("must not be earlier than date_from (%(first)s)") % {"first": first.isoformat()},
        )
    if any(item is MISSING for item in read.values()):
        return MISSING
    return When(**read)


def _then(reader: _Reader, value: object, path: str) -> Any:
    then = reader.mapping(value, path, THEN_KEYS)
    if then is None:
        return MISSING
    given = [name for name in THEN_KEYS if name in then]
    if not given and len(then) > 0:
        return MISSING  # an unknown key, reported with its suggestion, is the one problem
    if len(given) != 1:
        return reader.problem(
            path,
            _("must hold exactly one of: %(keys)s") % {"keys": ", ".join(THEN_KEYS)},
        )
    (name,) = given
    at = _key(path, name)
    effect: Any
    if name == "earn_multiplier":
        effect = reader.multiplier(then[name], at)
    elif name in ("earn_percent", "discount_percent"):
        effect = reader.percent(then[name], at)
    else:
        effect = reader.integer(then[name], at, 1, MAX_POINTS)
    if effect is MISSING:
        return MISSING
    return Then(**{name: effect})


def _limit(reader: _Reader, value: object, path: str) -> Any:
    limit = reader.mapping(value, path, LIMIT_KEYS)
    if limit is None:
        return MISSING
    read = {
        name: reader.integer(limit[name], _key(path, name), 1, MAX_LIMIT)
        for name in LIMIT_KEYS
        if name in limit
    }
    if any(item is MISSING for item in read.values()):
        return MISSING
    return Limit(**read)


def program_to_document(program: Program) -> dict[str, Any]:
    """The canonical document of a program: every top-level key, in the documented order."""
    return {
        "mode": program.mode,
        "name": program.name,
        "point_value": money_text(program.point_value),
        "earn_percent": decimal_text(program.earn_percent),
        "redeem_max_percent": decimal_text(program.redeem_max_percent),
        "pending_days": program.pending_days,
        "expiry_days": program.expiry_days,
        "discount_percent": decimal_text(program.discount_percent),
        "discount_levels": [
            {"from_spend": money_text(level.from_spend), "percent": decimal_text(level.percent)}
            for level in program.discount_levels
        ],
        "excluded_categories": {
            category: [action for action in ACTIONS if action in actions]
            for category, actions in sorted(program.excluded_categories.items())
        },
        "rules": [_rule_document(rule) for rule in program.rules],
        "tiers": [_tier_document(tier) for tier in program.tiers],
        "tier_window_days": program.tier_window_days,
        "tier_grace_days": program.tier_grace_days,
        "bonuses": _bonuses_document(program.bonuses),
    }


def _bonuses_document(bonuses: EventBonuses) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for kind in BONUS_KINDS:
        bonus = getattr(bonuses, kind)
        if bonus is not None:
            fields = {name: getattr(bonus, name) for name in BONUS_KEYS[kind]}
            document[kind] = {name: value for name, value in fields.items() if value is not None}
    return document


def _tier_document(tier: Tier) -> dict[str, Any]:
    document: dict[str, Any] = {
        "code": tier.code,
        "name": tier.name,
        "qualify_spend": money_text(tier.qualify_spend),
        "earn_multiplier": decimal_text(tier.earn_multiplier),
    }
    if tier.redeem_max_percent is not None:
        document["redeem_max_percent"] = decimal_text(tier.redeem_max_percent)
    document["discount_percent"] = decimal_text(tier.discount_percent)
    document["privileges"] = list(tier.privileges)
    return document


def _rule_document(rule: Rule) -> dict[str, Any]:
    document: dict[str, Any] = {
        "code": rule.code,
        "name": rule.name,
        "priority": rule.priority,
        "combine": rule.combine,
        "when": _when_document(rule.when),
        "then": _then_document(rule.then),
    }
    limit = {name: getattr(rule.limit, name) for name in LIMIT_KEYS}
    if any(value is not None for value in limit.values()):
        document["limit"] = {name: value for name, value in limit.items() if value is not None}
    return document


def _when_document(when: When) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for name in WHEN_KEYS:
        value = getattr(when, name)
        if value is None:
            continue
        if isinstance(value, frozenset):
            document[name] = sorted(value)
        elif isinstance(value, time):
            document[name] = value.strftime("%H:%M")
        elif isinstance(value, date):
            document[name] = value.isoformat()
        elif name == "min_receipt":
            document[name] = money_text(value)
        else:
            document[name] = value
    return document


def _then_document(then: Then) -> dict[str, Any]:
    name = then.kind
    value = getattr(then, name)
    return {name: decimal_text(value) if isinstance(value, Decimal) else value}


def document_warnings(doc_or_program: object) -> list[str]:
    """What a valid document allows but an owner should hear about before applying it.

    A dropped exclusion of tobacco or nicotine (15-FZ art. 16 forbids discounting them by any
    means, points and coupons included), and an earn multiplier with no base rate to multiply
    (the discount modes earn nothing by themselves). A document is read first (DocumentError
    if invalid).
    """
    program = (
        doc_or_program
        if isinstance(doc_or_program, Program)
        else program_from_document(doc_or_program)
    )
    warnings: list[str] = []
    for category, required in LAW_EXCLUDED.items():
        missing = [
            action
            for action in ACTIONS
            if action in required and not program.excluded(category, action)
        ]
        if missing:
            warnings.append(
                _(
                    "15-FZ art. 16 forbids discounts on tobacco and nicotine products by any "
                    "means, points included, but excluded_categories.%(category)s does not "
                    "exclude %(actions)s."
                )
                % {"category": category, "actions": ", ".join(missing)}
            )
    base_rate = program.earn_percent if program.mode == "points" else Decimal(0)
    if base_rate == 0:
        for number, rule in enumerate(program.rules):
            if rule.then.earn_multiplier is not None:
                warnings.append(
                    _(
                        "The program earns no points by itself (mode %(mode)s, earn_percent "
                        "%(rate)s): rules[%(number)d].then.earn_multiplier multiplies only the "
                        "earn_percent of other rules on the same items."
                    )
                    % {
                        "number": number,
                        "mode": program.mode,
                        "rate": decimal_text(program.earn_percent),
                    }
                )
    return warnings


def _default_document() -> dict[str, Any]:
    return program_to_document(Program())


DEFAULT_DOCUMENT: Mapping[str, Any] = _default_document()

__all__ = [
    "DEFAULT_DOCUMENT",
    "DocumentError",
    "Mode",
    "decimal_text",
    "document_warnings",
    "money_text",
    "program_from_document",
    "program_to_document",
]
