"""What the commit and engine benchmarks share: the catalogue their receipts use and a generated
program of N earning rules (`--rules N` of bench/pos_commit.py, the 20 rules of bench/engine.py).

The rules are the kind a shop writes: category multipliers, a replacement earn rate, points per
unit on a product of the week, receipt bonuses with a threshold and a once-a-day limit, category
discounts, an exclusive promotion, a new-member offer; with every kind of condition (categories,
SKUs, weekdays, a time window, a date range, stores, a minimum receipt, enrolled within N days)
and every combination mode (`stack`, `best`, `exclusive`).

So that a run at 9:00 on a Monday and one at 23:00 on a Saturday do the same work, the
calendar conditions are placed around the moment `at` the program is made for: the rules meant
to match (most of them) have a weekday set, time window and date range that include it; four are
meant to miss it (another weekday, a window later or earlier in the day, a promotion that ended,
a store that is not the bench's), as a real program always has rules that do not apply now. A run
that crosses midnight, or a window's end, changes which rules hold for the rest of the run.

No Django: plain data in, a program document (JSON-ready dict) out.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

CATEGORIES = ("food", "drinks", "household", "bakery")
# (sku, name, category): the bench's catalogue; SKU-00000 .. SKU-00499, a category each in turn
SKUS = [(f"SKU-{n:05d}", f"Item {n}", CATEGORIES[n % 4]) for n in range(500)]
# a line the law excludes from earning, discounts and paying with points (15-FZ art. 16)
TOBACCO = ("TOB-00001", "Cigarettes", "tobacco")

PRODUCT_OF_THE_WEEK = [sku for sku, _name, _category in SKUS[:50]]  # 10 % of the catalogue
PROMO = [sku for sku, _name, _category in SKUS[100:120]]  # 4 %


def _clock(moment: time) -> str:
    return moment.strftime("%H:%M")


def _window_around(local: datetime, before_h: int, after_h: int) -> tuple[str, str]:
    """A time window of the same day holding `local`: from the hour `before_h` hours earlier
    (not before midnight) to `after_h` hours later (not past 23:59; time_to is exclusive)."""
    midnight = datetime.combine(local.date(), time.min, local.tzinfo)
    start = max(midnight, local - timedelta(hours=before_h)).replace(minute=0)
    end = local + timedelta(hours=after_h)
    return _clock(start.time()), "23:59" if end.date() != local.date() else _clock(end.time())


def _window_missing(local: datetime) -> tuple[str, str]:
    """A 3-hour window of the same day that does not hold `local`."""
    if local.hour >= 12:
        return "07:00", "10:00"
    return "18:00", "21:00"


def _weekdays_with(day: int, count: int) -> list[int]:
    """`count` ISO weekdays, `day` among them."""
    return sorted({day, *[(day - 1 + k) % 7 + 1 for k in range(1, count)]})


def _iso(day: date) -> str:
    return day.isoformat()


def _templates(local: datetime, store: str) -> list[dict[str, Any]]:
    """Twenty rules, in the order a program grows: the first N are `--rules N` (N <= 20)."""
    today = local.date()
    weekday = local.isoweekday()
    other_days = [d for d in range(1, 8) if d != weekday]
    now_from, now_to = _window_around(local, 2, 3)
    evening_from, evening_to = _window_around(local, 1, 2)
    miss_from, miss_to = _window_missing(local)
    return [
        {
            "code": "drinks-x2",
            "name": "Напитки ×2 в часы акции",
            "priority": 10,
            "combine": "stack",
            "when": {
                "categories": ["drinks"],
                "weekdays": _weekdays_with(weekday, 5),
                "time_from": now_from,
                "time_to": now_to,
            },
            "then": {"earn_multiplier": "2"},
        },
        {
            "code": "bakery-7",
            "name": "Выпечка: 7 % баллами",
            "priority": 5,
            "combine": "best",
            "when": {"categories": ["bakery"]},
            "then": {"earn_percent": "7"},
        },
        {
            "code": "week-product",
            "name": "Товар недели: 5 баллов за штуку",
            "priority": 0,
            "combine": "stack",
            "when": {
                "skus": PRODUCT_OF_THE_WEEK,
                "date_from": _iso(today - timedelta(days=3)),
                "date_to": _iso(today + timedelta(days=3)),
            },
            "then": {"points_per_unit": 5},
        },
        {
            "code": "receipt-1500",
            "name": "Чек от 1500 ₽: 50 баллов",
            "priority": 0,
            "combine": "best",
            "when": {"min_receipt": "1500.00"},
            "then": {"bonus_points": 50},
            "limit": {"per_member_per_day": 1},
        },
        {
            "code": "food-3",
            "name": "Продукты −3 % от чека в 500 ₽",
            "priority": 0,
            "combine": "stack",
            "when": {"categories": ["food"], "min_receipt": "500.00"},
            "then": {"discount_percent": "3"},
        },
        {
            "code": "household-10",
            "name": "Бытовая химия −10 %, без других акций",
            "priority": 20,
            "combine": "exclusive",
            "when": {
                "categories": ["household"],
                "date_from": _iso(today - timedelta(days=10)),
                "date_to": _iso(today + timedelta(days=20)),
            },
            "then": {"discount_percent": "10"},
        },
        {
            "code": "newcomer-x1-5",
            "name": "Новичкам ×1,5 первые 30 дней",
            "priority": 0,
            "combine": "stack",
            "when": {"enrolled_within_days": 30},
            "then": {"earn_multiplier": "1.5"},
        },
        {
            "code": "other-days-x3",
            "name": "В другие дни ×3",
            "priority": 10,
            "combine": "stack",
            "when": {"weekdays": other_days},
            "then": {"earn_multiplier": "3"},
        },
        {
            "code": "bakery-evening-10",
            "name": "Выпечка вечером: 10 % баллами",
            "priority": 5,
            "combine": "best",
            "when": {"categories": ["bakery"], "time_from": evening_from, "time_to": evening_to},
            "then": {"earn_percent": "10"},
        },
        {
            "code": "receipt-3000",
            "name": "Чек от 3000 ₽: 150 баллов",
            "priority": 0,
            "combine": "best",
            "when": {"min_receipt": "3000.00"},
            "then": {"bonus_points": 150},
            "limit": {"per_member_per_day": 1},
        },
        {
            "code": "drinks-5",
            "name": "Напитки −5 % в часы акции",
            "priority": 0,
            "combine": "best",
            "when": {"categories": ["drinks"], "time_from": now_from, "time_to": now_to},
            "then": {"discount_percent": "5"},
        },
        {
            "code": "drinks-7",
            "name": "Напитки −7 % от чека в 2000 ₽",
            "priority": 0,
            "combine": "best",
            "when": {"categories": ["drinks"], "min_receipt": "2000.00"},
            "then": {"discount_percent": "7"},
        },
        {
            "code": "promo-15",
            "name": "Промо-товары: 15 % баллами, без других акций",
            "priority": 30,
            "combine": "exclusive",
            "when": {"skus": PROMO},
            "then": {"earn_percent": "15"},
        },
        {
            "code": "morning-coffee",
            "name": "Утренний кофе ×2",
            "priority": 10,
            "combine": "stack",
            "when": {"categories": ["drinks"], "time_from": miss_from, "time_to": miss_to},
            "then": {"earn_multiplier": "2"},
        },
        {
            "code": "store-food-6",
            "name": "Продукты в этом магазине: 6 % баллами",
            "priority": 1,
            "combine": "best",
            "when": {"categories": ["food"], "stores": [store]},
            "then": {"earn_percent": "6"},
        },
        {
            "code": "bakery-2pt",
            "name": "Выпечка: 2 балла за штуку",
            "priority": 0,
            "combine": "stack",
            "when": {"categories": ["bakery"], "weekdays": _weekdays_with(weekday, 3)},
            "then": {"points_per_unit": 2},
        },
        {
            "code": "household-bonus",
            "name": "Бытовая химия в чеке: 20 баллов",
            "priority": 0,
            "combine": "stack",
            "when": {"categories": ["household"]},
            "then": {"bonus_points": 20},
            "limit": {"per_member_per_month": 4},
        },
        {
            "code": "autumn-x2",
            "name": "Осенняя акция ×2 (закончилась)",
            "priority": 10,
            "combine": "stack",
            "when": {
                "date_from": _iso(today - timedelta(days=40)),
                "date_to": _iso(today - timedelta(days=1)),
            },
            "then": {"earn_multiplier": "2"},
        },
        {
            "code": "other-store-5",
            "name": "Другой магазин: −5 %",
            "priority": 0,
            "combine": "stack",
            "when": {"stores": [f"{store}-other"]},
            "then": {"discount_percent": "5"},
        },
        {
            "code": "basket-x1-2",
            "name": "Чек от 300 ₽ в будни ×1,2",
            "priority": 1,
            "combine": "stack",
            "when": {"min_receipt": "300.00", "weekdays": _weekdays_with(weekday, 5)},
            "then": {"earn_multiplier": "1.2"},
        },
    ]


# rules of the twenty meant not to match at `at` (another weekday, another time of day, a past
# promotion, another store)
MISSING_AT = ("other-days-x3", "morning-coffee", "autumn-x2", "other-store-5")


def rules_document(
    count: int, *, at: datetime, time_zone: str = "Europe/Moscow", store: str = "bench"
) -> dict[str, Any]:
    """A points program (the default's 5 %, 30 % cap, a year's expiry, tobacco and nicotine
    excluded) with `count` rules. Beyond twenty the same rules repeat with their own codes and
    a priority one lower per round, so every further rule is evaluated too."""
    if count < 0:
        raise ValueError("count must not be negative")
    local = at.astimezone(ZoneInfo(time_zone))
    base = _templates(local, store)
    rules = []
    for index in range(count):
        rule = dict(base[index % len(base)])
        round_ = index // len(base)
        if round_:
            rule["code"] = f"{rule['code']}-r{round_ + 1}"
            rule["name"] = f"{rule['name']} ({round_ + 1})"
            rule["priority"] = rule["priority"] - round_
        rules.append(rule)
    return {
        "mode": "points",
        "name": f"Бенчмарк: {count} правил",
        "point_value": "1.00",
        "earn_percent": "5",
        "redeem_max_percent": "30",
        "pending_days": 0,
        "expiry_days": 365,
        "excluded_categories": {
            "nicotine": ["earn", "discount", "redeem"],
            "tobacco": ["earn", "discount", "redeem"],
        },
        "rules": rules,
    }
