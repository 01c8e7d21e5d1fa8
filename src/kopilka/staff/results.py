"""Store results and the staff leaderboard for a period: the figures a staff bonus can rest on
(members enrolled, the share of receipts with a card, points redeemed, rewards given, enrolled
members who came back within `CAME_BACK_DAYS`), and each person's training quiz scores."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, Sum

from kopilka.core import clock
from kopilka.core.models import AuditEntry
from kopilka.materials.models import QuizAttempt
from kopilka.members.models import Member
from kopilka.pos.models import Purchase, Store
from kopilka.rewards.models import Voucher

CAME_BACK_DAYS = 30


@dataclass
class Figures:
    enrolled: int = 0
    came_back: int = 0  # of those enrolled: bought again within CAME_BACK_DAYS
    receipts: int = 0
    with_card: int = 0
    points_redeemed: int = 0
    rewards_given: int = 0  # vouchers used with the receipts

    @property
    def card_share(self) -> float | None:
        return round(self.with_card / self.receipts, 3) if self.receipts else None

    @property
    def came_back_share(self) -> float | None:
        return round(self.came_back / self.enrolled, 3) if self.enrolled else None


@dataclass(frozen=True)
class Row:
    name: str  # a store's name or a person's user name
    figures: Figures


def period_bounds(since: date, until: date) -> tuple[datetime, datetime]:
    return clock.start_of_business_day(since), clock.start_of_business_day(
        until + timedelta(days=1)
    )


def _came_back(members: list[tuple[int, datetime]]) -> set[int]:
    """The members (id, enrolled at) with a purchase after their enrolment day and within
    CAME_BACK_DAYS of it."""
    if not members:
        return set()
    enrolled = dict(members)
    back = set()
    bought = Purchase.objects.filter(member_id__in=list(enrolled)).values_list(
        "member_id", "created_at"
    )
    for member_id, at in bought:
        start = enrolled[member_id]
        if clock.business_date(at) > clock.business_date(start) and at <= start + timedelta(
            days=CAME_BACK_DAYS
        ):
            back.add(member_id)
    return back


def store_results(stores: list[Store], since: date, until: date) -> list[Row]:
    """One row per store, in the order given."""
    start, end = period_bounds(since, until)
    figures = {store.pk: Figures() for store in stores}
    purchases = Purchase.objects.filter(store__in=stores, created_at__gte=start, created_at__lt=end)
    for row in purchases.values("store_id").annotate(
        n=Count("id"),
        card=Count("id", filter=Q(member__isnull=False)),
        redeemed=Sum("redeem_points"),
    ):
        f = figures[row["store_id"]]
        f.receipts, f.with_card, f.points_redeemed = row["n"], row["card"], row["redeemed"] or 0
    used = Voucher.objects.filter(purchase_id__in=purchases.values("id"))
    for purchase_store, n in (
        Purchase.objects.filter(pk__in=used.values("purchase_id"))
        .values("store_id")
        .annotate(n=Count("id"))
        .values_list("store_id", "n")
    ):
        figures[purchase_store].rewards_given = n
    joined = list(
        Member.objects.filter(
            enrolled_store__in=stores, created_at__gte=start, created_at__lt=end
        ).values_list("pk", "created_at", "enrolled_store_id")
    )
    back = _came_back([(pk, at) for pk, at, _s in joined])
    for pk, _at, store_id in joined:
        figures[store_id].enrolled += 1
        figures[store_id].came_back += pk in back
    return [Row(store.name, figures[store.pk]) for store in stores]


def staff_leaderboard(stores: list[Store], since: date, until: date) -> list[Row]:
    """One row per person who enrolled members or rang receipts up in these stores, the most
    members enrolled first (then the share of receipts with a card)."""
    start, end = period_bounds(since, until)
    store_ids = {store.pk for store in stores}
    people: dict[int, Figures] = defaultdict(Figures)
    purchase_store = dict(
        Purchase.objects.filter(
            store_id__in=store_ids, created_at__gte=start, created_at__lt=end
        ).values_list("pk", "store_id")
    )
    commits = AuditEntry.objects.filter(
        action="purchase.commit",
        actor_user__isnull=False,
        created_at__gte=start,
        created_at__lt=end,
        target_id__in=list(purchase_store),
    ).values_list("actor_user_id", "target_id", "member_id", "data")
    rung: dict[int, int] = {}  # purchase -> the person
    for user_id, purchase_id, member_id, data in commits:
        if user_id is None or purchase_id is None:
            continue  # the filter says so
        f = people[user_id]
        f.receipts += 1
        f.with_card += member_id is not None
        f.points_redeemed += int((data or {}).get("redeem", 0))
        rung[purchase_id] = user_id
    for purchase_id in Voucher.objects.filter(purchase_id__in=list(rung)).values_list(
        "purchase_id", flat=True
    ):
        if purchase_id is not None:
            people[rung[purchase_id]].rewards_given += 1
    joined = list(
        Member.objects.filter(
            enrolled_store_id__in=store_ids,
            enrolled_by__isnull=False,
            created_at__gte=start,
            created_at__lt=end,
        ).values_list("pk", "created_at", "enrolled_by_id")
    )
    back = _came_back([(pk, at) for pk, at, _u in joined])
    for pk, _at, user_id in joined:
        people[user_id].enrolled += 1
        people[user_id].came_back += pk in back
    names = dict(get_user_model().objects.filter(pk__in=list(people)).values_list("pk", "username"))
    rows = [Row(names.get(user_id, str(user_id)), f) for user_id, f in people.items()]
    return sorted(rows, key=lambda r: (-r.figures.enrolled, -(r.figures.card_share or 0), r.name))


@dataclass
class QuizScores:
    name: str  # the person's user name
    latest: tuple[int, int]  # (right answers, questions)
    best: tuple[int, int]
    attempts: int
    taken_at: datetime  # the latest


def quiz_scores(stores: list[Store]) -> list[QuizScores]:
    """The training quiz of each person working in these stores who took it, by name: the latest
    and the best score (of all time: it is taken when starting, and again after a change)."""
    people = get_user_model().objects.filter(staff_profile__stores__in=stores)
    found: dict[int, QuizScores] = {}
    for user_id, name, score, total, at in (
        QuizAttempt.objects.filter(user__in=people.values("pk"))
        .order_by("taken_at", "pk")
        .values_list("user_id", "user__username", "score", "total", "taken_at")
    ):
        mark = (score, total)
        row = found.get(user_id)
        if row is None:
            found[user_id] = QuizScores(name, mark, mark, 1, at)
            continue
        row.latest, row.taken_at, row.attempts = mark, at, row.attempts + 1
        if score * row.best[1] > row.best[0] * total:
            row.best = mark
    return sorted(found.values(), key=lambda r: r.name)
