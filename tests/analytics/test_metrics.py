"""Each metric against an independent, plain-Python computation on small random data."""

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from kopilka.analytics import cohorts, kpi, rfm, uplift
from kopilka.analytics.frames import (
    MEMBER_SCHEMA,
    PURCHASE_SCHEMA,
    RETURN_SCHEMA,
    TRANSFER_SCHEMA,
    VOUCHER_SCHEMA,
    Frames,
    frames_build,
)
from kopilka.campaigns import control as holdout

MSK = ZoneInfo("Europe/Moscow")
T0 = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
DAY = 86_400


def day_of(epoch: int) -> date:
    return datetime.fromtimestamp(epoch, MSK).date()


class World:
    """Random members, receipts, returns and expiries, as raw rows and as frames."""

    def __init__(self, seed: int, members: int = 60, purchases: int = 900) -> None:
        rng = random.Random(seed)
        self.members = [
            (m, T0 + rng.randrange(400 * DAY), rng.choice([1, 2, None]), rng.choice([7, 8, None]))
            for m in range(1, members + 1)
        ]
        enrolled = {m: at for m, at, _s, _u in self.members}
        # A few loyal members buy far more often, as in real data.
        weights = [rng.choice([1, 1, 1, 3, 10]) for _ in self.members]
        self.purchases = []
        for pid in range(1, purchases + 1):
            member = None
            if rng.random() > 0.25:
                member = rng.choices(list(enrolled), weights)[0]
            start = enrolled[member] if member else T0
            at = start + rng.randrange(T0 + 480 * DAY - start)
            amount = rng.randrange(50, 3000) * 100
            redeem = rng.choice([0, 0, 0, rng.randrange(0, amount // 400 + 1)])
            earn = (amount - redeem * 100) // 2000
            self.purchases.append((pid, member, rng.choice([1, 2]), at, amount, redeem, earn))
        # Some receipts had a discount, some of it from a voucher whose reward cost far less.
        self.discount = {p[0]: rng.choice([0, 0, 0, p[4] // 10]) for p in self.purchases}
        self.vouchers = [  # (purchase, reward's cost, voucher's part of the discount)
            (pid, rng.randrange(1000, 5000), off // 2)
            for pid, off in self.discount.items()
            if off and rng.random() < 0.5
        ]
        self.returns = []
        self.return_discount: list[int] = []
        for pid, _m, _s, at, amount, redeem, earn in rng.sample(self.purchases, 40):
            share = rng.choice([1, 2, 4])
            self.returns.append(
                (
                    pid,
                    at + rng.randrange(1, 20 * DAY),
                    amount // share,
                    earn // share,
                    redeem // share,
                )
            )
            self.return_discount.append(self.discount[pid] // share)
        self.transfers = [
            ("expire", (T0 + rng.randrange(480 * DAY)) // 3600, -rng.randrange(1, 300))
            for _ in range(30)
        ] + [("adjust", (T0 + rng.randrange(480 * DAY)) // 3600, rng.randrange(-50, 100))]

    def frames(self, as_of: datetime | None = None) -> Frames:
        def rows(data: list[tuple[object, ...]], schema: dict[str, object]) -> pl.DataFrame:
            return pl.DataFrame(data, schema=schema, orient="row")  # type: ignore[arg-type]

        return frames_build(
            as_of=as_of or datetime(2026, 5, 1, tzinfo=UTC),
            purchases=rows(
                [(*p[:5], self.discount[p[0]], *p[5:]) for p in self.purchases], PURCHASE_SCHEMA
            ),
            returns=rows(
                [
                    (*r[:3], d, *r[3:])
                    for r, d in zip(self.returns, self.return_discount, strict=True)
                ],
                RETURN_SCHEMA,
            ),
            members=rows([(*m[:2], m[2], m[3], "active") for m in self.members], MEMBER_SCHEMA),
            transfers=rows(self.transfers, TRANSFER_SCHEMA),
            vouchers=rows(self.vouchers, VOUCHER_SCHEMA),
        )

    def returned(self) -> dict[int, int]:
        """Kopecks returned of each receipt, after their discounts."""
        out: dict[int, int] = defaultdict(int)
        for (pid, _at, amount, _e, _r), discount in zip(
            self.returns, self.return_discount, strict=True
        ):
            out[pid] += amount - discount
        return out

    def net(self, pid: int) -> int:
        """What a receipt kept: its amount less its discount and what was returned of it."""
        if not hasattr(self, "_returned"):
            self._returned = self.returned()
        return self.purchases[pid - 1][4] - self.discount[pid] - self._returned[pid]


@pytest.fixture(params=[1, 2, 3])
def world(request: pytest.FixtureRequest) -> World:
    return World(seed=request.param)


SCOPES = [
    (date(2025, 3, 1), date(2025, 6, 1), None, None),
    (date(2025, 1, 1), date(2026, 5, 1), 2, None),
    (date(2025, 9, 10), date(2025, 12, 24), None, frozenset(range(1, 30))),
]


@pytest.mark.parametrize(("start", "end", "store", "segment"), SCOPES)
def test_program_kpis_match_a_plain_computation(
    world: World, start: date, end: date, store: int | None, segment: frozenset[int] | None
) -> None:
    returned = world.returned()

    def in_scope(member: int | None, store_id: int, at: int) -> bool:
        return (
            start <= day_of(at) < end
            and (store is None or store_id == store)
            and (segment is None or member in segment)
        )

    bought = [p for p in world.purchases if in_scope(p[1], p[2], p[3])]
    net = {p[0]: p[4] - world.discount[p[0]] - returned[p[0]] for p in world.purchases}
    by_member = [p for p in bought if p[1] is not None]
    guests = [p for p in bought if p[1] is None]
    counts: dict[int, int] = defaultdict(int)
    for p in by_member:
        counts[p[1]] += 1
    owner = {p[0]: p for p in world.purchases}
    returns = [r for r in world.returns if in_scope(owner[r[0]][1], owner[r[0]][2], r[1])]
    earned = sum(p[6] for p in bought) - sum(r[3] for r in returns)
    redeemed = sum(p[5] for p in bought) - sum(r[4] for r in returns)

    got = kpi.program_kpis(world.frames(), kpi.Scope(start, end, store, segment), gross_margin=0.25)

    revenue = sum(net[p[0]] for p in bought)
    member_revenue = sum(net[p[0]] for p in by_member)
    assert got["receipts"] == len(bought)
    assert got["revenue"] == revenue
    assert got["member_revenue"] == member_revenue
    assert got["member_revenue_share"] == pytest.approx(member_revenue / revenue)
    assert got["active_members"] == len(counts)
    assert got["repeat_rate"] == pytest.approx(
        sum(1 for n in counts.values() if n >= 2) / len(counts)
    )
    assert got["purchase_frequency"] == pytest.approx(len(by_member) / len(counts))
    avg_member = member_revenue / len(by_member)
    assert got["avg_receipt_member"] == pytest.approx(avg_member)
    assert got["points_earned"] == earned
    assert got["points_redeemed"] == redeemed
    assert got["redemption_rate"] == pytest.approx(redeemed / earned)
    bought_ids = {p[0] for p in bought}
    discounts = sum(world.discount[p[0]] for p in bought) - sum(
        d for r, d in zip(world.returns, world.return_discount, strict=True) if r in returns
    )
    vouchers = [v for v in world.vouchers if v[0] in bought_ids]
    assert got["discounts"] == discounts
    assert got["rewards_cost"] == sum(v[1] for v in vouchers)
    # a voucher's discount counts as its reward's cost, the other discounts as given
    voucher_part = sum(v[2] for v in vouchers)
    cost = redeemed * 100 + discounts - voucher_part + sum(v[1] for v in vouchers)
    assert got["program_cost"] == cost
    if segment is not None:  # a segment holds members only: no guests to compare with
        assert not guests and got["avg_receipt_guest"] is None and got["roi"] is None
    else:
        avg_guest = sum(net[p[0]] for p in guests) / len(guests)
        assert got["avg_receipt_guest"] == pytest.approx(avg_guest)
        extra = (avg_member - avg_guest) * len(by_member)
        assert got["roi"] == pytest.approx((extra * 0.25 - cost) / cost)
    enrolled = [m for m in world.members if start <= day_of(m[1]) < end and store in (None, m[2])]
    assert got["members_enrolled"] == len(enrolled)
    if store is None and segment is None:
        expired = -sum(
            t[2] for t in world.transfers if t[0] == "expire" and start <= day_of(t[1] * 3600) < end
        )
        held = (
            sum(p[6] - p[5] for p in world.purchases if day_of(p[3]) < end)
            + sum(r[4] - r[3] for r in world.returns if day_of(r[1]) < end)
            + sum(t[2] for t in world.transfers if day_of(t[1] * 3600) < end)
        )
        assert got["points_expired"] == expired
        assert got["breakage_rate"] == pytest.approx(expired / (expired + redeemed))
        assert got["liability_points"] == held
        assert got["liability_money"] == held * 100
    else:
        assert got["liability_points"] is None  # expiry belongs to no store or segment


def test_store_and_staff_results_match_a_plain_computation(world: World) -> None:
    start, end = date(2025, 3, 1), date(2025, 9, 1)
    frames = world.frames()

    stores = kpi.enrolment_by_store(frames, kpi.Scope(start, end))
    staff = kpi.enrolment_by_staff(frames, kpi.Scope(start, end))

    for row in stores.iter_rows(named=True):
        store = row["store_id"]
        bought = [p for p in world.purchases if p[2] == store and start <= day_of(p[3]) < end]
        members = [p for p in bought if p[1] is not None]
        joined = [m for m in world.members if m[2] == store and start <= day_of(m[1]) < end]
        assert row["members_enrolled"] == len(joined)
        assert row["receipts"] == len(bought)
        if store is None:  # members enrolled without a store: no sales to share
            assert not bought
            continue
        assert row["member_revenue"] == sum(world.net(p[0]) for p in members)
        assert row["member_receipt_share"] == pytest.approx(len(members) / len(bought))
        assert row["redeem_receipt_share"] == pytest.approx(
            sum(1 for p in members if p[5] > 0) / len(members)
        )
    receipts: dict[int, int] = defaultdict(int)
    for p in world.purchases:
        if p[1] is not None:
            receipts[p[1]] += 1
    for row in staff.iter_rows(named=True):
        joined = [
            m for m in world.members if m[3] == row["user_id"] and start <= day_of(m[1]) < end
        ]
        assert row["members_enrolled"] == len(joined)
        assert row["members_returned"] == sum(1 for m in joined if receipts[m[0]] >= 2)
    assert staff["members_enrolled"].sum() == sum(
        1 for m in world.members if start <= day_of(m[1]) < end
    )


def test_monthly_kpis_agree_with_the_period_kpis(world: World) -> None:
    frames = world.frames()
    monthly = kpi.kpi_monthly(frames)
    for row in monthly.iter_rows(named=True):
        month: date = row["month"]
        end = (month + timedelta(days=32)).replace(day=1)
        period = kpi.program_kpis(frames, kpi.Scope(month, end), gross_margin=0.3)
        assert row["receipts"] == period["receipts"]
        assert row["revenue"] == period["revenue"]
        assert row["active_members"] == period["active_members"]
        assert row["avg_receipt_member"] == pytest.approx(period["avg_receipt_member"])


NAMED_GRID = {  # the regular expressions RFM write-ups use, as an independent check
    "hibernating": "[1-2][1-2]",
    "at_risk": "[1-2][3-4]",
    "cant_lose": "[1-2]5",
    "about_to_sleep": "3[1-2]",
    "need_attention": "33",
    "loyal": "[3-4][4-5]",
    "promising": "41",
    "new": "51",
    "potential_loyalists": "[4-5][2-3]",
    "champions": "5[4-5]",
}


def naive_segment(r: int, f: int) -> str:
    import re

    matches = [name for name, rx in NAMED_GRID.items() if re.fullmatch(rx, f"{r}{f}")]
    assert len(matches) == 1
    return matches[0]


def naive_quintiles(values: dict[int, float]) -> dict[int, int]:
    order = sorted(values, key=lambda m: (values[m], m))
    return {m: 1 + i * 5 // len(order) for i, m in enumerate(order)}


@pytest.mark.parametrize("as_of", [date(2025, 6, 1), date(2026, 4, 20)])
def test_rfm_scores_match_a_plain_computation(world: World, as_of: date) -> None:
    last: dict[int, date] = {}
    frequency: dict[int, int] = defaultdict(int)
    monetary: dict[int, int] = defaultdict(int)
    for pid, member, _s, at, _amount, _r, _e in world.purchases:
        day = day_of(at)
        if member is None or day >= as_of:
            continue
        last[member] = max(last.get(member, day), day)
        if day >= as_of - timedelta(days=365):
            frequency[member] += 1
            monetary[member] += world.net(pid)
    recency = {m: (as_of - d).days for m, d in last.items()}
    r = naive_quintiles({m: -v for m, v in recency.items()})
    f = naive_quintiles({m: frequency[m] for m in last})
    m_ = naive_quintiles({m: monetary[m] for m in last})

    scores = rfm.rfm_scores(world.frames().purchases, as_of=as_of)

    assert scores["member_id"].to_list() == sorted(last)
    for row in scores.iter_rows(named=True):
        member = row["member_id"]
        assert row["recency_days"] == recency[member]
        assert row["frequency"] == frequency[member]
        assert row["monetary"] == monetary[member]
        assert (row["r"], row["f"], row["m"]) == (r[member], f[member], m_[member])
        assert row["segment"] == naive_segment(r[member], f[member])
    segments = rfm.rfm_segments(scores)
    assert segments["members"].sum() == len(last)
    assert segments["revenue_share"].sum() == pytest.approx(1.0)
    grid = rfm.rfm_grid(scores)
    assert grid.height == 25 and grid["members"].sum() == len(last)


def test_every_grid_cell_has_exactly_one_named_segment() -> None:
    for r in range(1, 6):
        for f in range(1, 6):
            assert rfm.segment_of(r, f) == naive_segment(r, f)


def test_rfm_movement_counts_each_member_once(world: World) -> None:
    purchases = world.frames().purchases
    before = rfm.rfm_scores(purchases, as_of=date(2025, 9, 1))
    after = rfm.rfm_scores(purchases, as_of=date(2025, 12, 1))
    moves = rfm.rfm_movement(before, after)
    assert moves["members"].sum() == after.height
    new = moves.filter(pl.col("from_segment") == "none")["members"].sum()
    assert new == after.height - before.height


def test_cohorts_match_a_plain_computation(world: World) -> None:
    cohort_of = {m: day_of(at).replace(day=1) for m, at, _s, _u in world.members}
    size: dict[date, int] = defaultdict(int)
    for month in cohort_of.values():
        size[month] += 1
    active: dict[tuple[date, int], set[int]] = defaultdict(set)
    revenue: dict[tuple[date, int], int] = defaultdict(int)
    for pid, member, _s, at, _amount, _r, _e in world.purchases:
        if member is None:
            continue
        day, start = day_of(at), cohort_of[member]
        k = (day.year - start.year) * 12 + day.month - start.month
        active[start, k].add(member)
        revenue[start, k] += world.net(pid)

    table = cohorts.cohort_table(world.frames())

    last = max(day_of(p[3]) for p in world.purchases).replace(day=1)
    expected_cells = sum((last.year - c.year) * 12 + last.month - c.month + 1 for c in size)
    assert table.height == expected_cells
    for row in table.iter_rows(named=True):
        cell = (row["cohort"], row["month_index"])
        assert row["cohort_size"] == size[row["cohort"]]
        assert row["active"] == len(active[cell])
        assert row["retention"] == pytest.approx(len(active[cell]) / size[row["cohort"]])
        assert row["revenue_per_member"] == pytest.approx(revenue[cell] / size[row["cohort"]])


def test_the_control_group_is_persistent_and_of_the_configured_size() -> None:
    members = range(1, 20_001)
    split = holdout.control_split(campaign_key="spring", member_ids=members, control_share=0.1)
    again = holdout.control_split(campaign_key="spring", member_ids=members, control_share=0.1)
    other = holdout.control_split(campaign_key="autumn", member_ids=members, control_share=0.1)
    share = split["in_control"].mean()
    assert split.equals(again)
    assert 0.09 < share < 0.11  # type: ignore[operator]
    overlap = (split["in_control"] & other["in_control"]).sum()
    assert overlap < 0.02 * 20_000  # independent draws: about 1 %, not the same members
    # A member's group never depends on who else is in the audience.
    assert (
        holdout.in_control_group(campaign_key="spring", member_id=77, control_share=0.1)
        == split.filter(pl.col("member_id") == 77)["in_control"].item()
    )


def test_uplift_matches_a_plain_computation_and_finds_a_real_effect() -> None:
    rng = random.Random(5)
    audience = holdout.control_split(
        campaign_key="winback", member_ids=range(1, 4001), control_share=0.2
    )
    control = set(audience.filter(pl.col("in_control"))["member_id"].to_list())
    rows, revenue = [], defaultdict(int)
    for member in range(1, 4001):
        chance = 0.20 if member in control else 0.30  # the campaign brings a third more buyers
        if rng.random() < chance:
            amount = rng.randrange(100, 2000) * 100
            revenue[member] += amount
            rows.append(
                (
                    member,
                    member,
                    1,
                    int(datetime(2026, 3, 5, 12, tzinfo=UTC).timestamp()),
                    amount,
                    0,
                    0,
                    0,
                )
            )
    frames = frames_build(
        as_of=datetime(2026, 4, 1, tzinfo=UTC),
        purchases=pl.DataFrame(rows, schema=PURCHASE_SCHEMA, orient="row"),
        returns=pl.DataFrame(schema=RETURN_SCHEMA),
        members=pl.DataFrame(schema=MEMBER_SCHEMA),
        transfers=pl.DataFrame(schema=TRANSFER_SCHEMA),
    )

    result = uplift.uplift(frames.purchases, audience, start=date(2026, 3, 1), end=date(2026, 4, 1))

    groups = {"target": [m for m in range(1, 4001) if m not in control], "control": sorted(control)}
    for name, members in groups.items():
        got = result[name]
        assert isinstance(got, dict)
        assert got["members"] == len(members)
        assert got["buyers"] == sum(1 for m in members if revenue[m])
        assert got["revenue_per_member"] == pytest.approx(
            sum(revenue[m] for m in members) / len(members)
        )
    low, high = result["purchase_rate_ci95"]  # type: ignore[misc]
    assert 0 < low < 0.1 < high < 0.2  # the true difference, 0.1, is inside and 0 is not


def test_the_previous_period_has_the_same_length_store_and_segment() -> None:
    scope = kpi.Scope(date(2025, 3, 1), date(2025, 6, 1), 2, frozenset({1, 2}))
    assert scope.previous() == kpi.Scope(date(2024, 11, 29), date(2025, 3, 1), 2, frozenset({1, 2}))
