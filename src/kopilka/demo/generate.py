"""Demo data: two cafés, their members and months of purchases and points, written in bulk.

Every figure comes from the API's own engine (`engine.quote` with the program in force), every
row of a purchase from the same row builders as the commit (`pos.services`), and every movement
of points from the ledger's planner, written by its in-memory applier (`ledger.memory`): the
same transfers, lots, FIFO spends, returns and daily expiry runs as the live system. So
`ledger_check` passes and later pages show what the live system would have recorded; only the
speed differs (`bulk_create` with primary keys set here, no row locks, no per-purchase audit rows).

Customers behave as in a BG/NBD model: each buys at a Gamma-distributed rate until dropping out
after some purchase (Beta-distributed odds), and spends a lognormal amount around a personal median.
"""

import bisect
import heapq
import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Literal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.color import no_style
from django.db import connection
from django.db.models import Max, Model

from kopilka.core import clock
from kopilka.core.audit import Actor, audit_record
from kopilka.core.ids import new_card_number
from kopilka.core.phones import InvalidPhone, normalize_phone
from kopilka.ledger.memory import MemoryLedger
from kopilka.ledger.models import BonusGrant, LotSpend, PointLot, Posting, RuleUse, Transfer
from kopilka.ledger.plan import plan_return
from kopilka.members.models import Card, Consent, Member, TierChange
from kopilka.pos.models import Purchase, PurchaseLine, PurchaseReturn, ReturnLine, Store, Terminal
from kopilka.pos.receipts import MemberRef, ReceiptIn, line_rows, purchase_plan, purchase_row
from kopilka.pos.stores import Seller, StoreRef
from kopilka.pos.terminals import terminal_create
from kopilka.program import engine
from kopilka.program.engine.document import program_from_document, program_to_document
from kopilka.program.models import ProgramVersion
from kopilka.program.selectors import program_cache_clear, program_in_force, program_version
from kopilka.rewards.models import Reward, Voucher

Kind = Transfer.Kind
# The in-memory ledger's tables, as the models the demo writes them to.
LEDGER_TABLES: dict[str, type[Model]] = {
    "transfer": Transfer,
    "posting": Posting,
    "lot": PointLot,
    "spend": LotSpend,
    "rule_use": RuleUse,
    "tier_change": TierChange,
}

STORES = (("central", "Кофейня на Тверской"), ("park", "Кофейня в парке"))
CENTRAL_SHARE = 0.6  # the street café is the busier one
HOME_STORE_LOYALTY = 0.85  # share of a member's visits at the café where they joined
NON_MEMBER_SHARE = 0.2
RETURN_SHARE = 0.003
RATE_SHAPE = 0.3  # Gamma shape of purchase rates: most buy rarely, a few almost daily
DROPOUT_ODDS = (0.5, 8.0)  # Beta(a, b) chance to stop coming after each purchase (mean ~6 %)
MAX_VISITS_PER_DAY = 1.0  # even the most loyal regular comes about once a day
EXPIRY_RUN_DELAY = timedelta(minutes=5)  # expire_points runs daily at 00:05
BATCH = 5000

# Hours the cafés serve (business time zone) and how busy each is: breakfast, lunch, after work.
HOURS = tuple(range(8, 22))
HOUR_WEIGHTS = tuple(itertools.accumulate((6, 9, 7, 6, 9, 10, 7, 5, 5, 7, 8, 6, 4, 2)))
EXPIRY_ACTOR = Actor.system("expire_points").label
DEMO_ACTOR = Actor.system("load_demo")


@dataclass(frozen=True)
class MenuItem:
    sku: str
    name: str
    category: str
    price: int  # kopecks
    weight: int  # how often it is ordered


MENU = (
    MenuItem("COF-ESP", "Эспрессо", "Кофе", 14000, 5),
    MenuItem("COF-AME", "Американо", "Кофе", 17000, 12),
    MenuItem("COF-CAP", "Капучино", "Кофе", 22000, 20),
    MenuItem("COF-LAT", "Латте", "Кофе", 24000, 16),
    MenuItem("COF-FLW", "Флэт уайт", "Кофе", 25000, 6),
    MenuItem("COF-RAF", "Раф ванильный", "Кофе", 27000, 7),
    MenuItem("TEA-BLK", "Чай чёрный", "Чай", 15000, 5),
    MenuItem("TEA-GRN", "Чай зелёный", "Чай", 15000, 4),
    MenuItem("TEA-FRT", "Чай облепиховый", "Чай", 22000, 4),
    MenuItem("PST-CRS", "Круассан", "Выпечка", 16000, 10),
    MenuItem("PST-ALM", "Круассан миндальный", "Выпечка", 21000, 4),
    MenuItem("PST-CIN", "Булочка с корицей", "Выпечка", 17000, 6),
    MenuItem("PST-MUF", "Маффин черничный", "Выпечка", 14000, 5),
    MenuItem("SND-HAM", "Сэндвич с ветчиной и сыром", "Сэндвичи", 32000, 5),
    MenuItem("SND-CHK", "Сэндвич с курицей", "Сэндвичи", 35000, 5),
    MenuItem("SND-VEG", "Сэндвич с овощами", "Сэндвичи", 29000, 3),
    MenuItem("DES-CHK", "Чизкейк", "Десерты", 29000, 4),
    MenuItem("DES-SYR", "Сырники со сметаной", "Десерты", 31000, 3),
)
DRINKS = tuple(item for item in MENU if item.category in {"Кофе", "Чай"})
MENU_WEIGHTS = tuple(itertools.accumulate(item.weight for item in MENU))
DRINK_WEIGHTS = tuple(itertools.accumulate(item.weight for item in DRINKS))


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split(" "))


MALE_NAMES = _words(
    "Александр Алексей Андрей Антон Артём Владимир Виктор Георгий Григорий Даниил Денис Дмитрий "
    "Евгений Егор Иван Игорь Илья Кирилл Константин Максим Матвей Михаил Никита Николай Олег "
    "Павел Роман Сергей Степан Тимур Фёдор Юрий"
)
FEMALE_NAMES = _words(
    "Александра Алина Алёна Анастасия Анна Валерия Варвара Вера Виктория Галина Дарья Евгения "
    "Екатерина Елена Ирина Ксения Кристина Людмила Марина Мария Милана Надежда Наталья Ольга "
    "Полина Светлана Софья Татьяна Ульяна Юлия"
)
# Masculine forms; the feminine is derived (Иванов -> Иванова, Островский -> Островская).
SURNAMES = _words(
    "Иванов Смирнов Кузнецов Попов Васильев Петров Соколов Михайлов Новиков Фёдоров Морозов "
    "Волков Алексеев Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев Орлов Андреев "
    "Макаров Никитин Захаров Зайцев Соловьёв Борисов Яковлев Григорьев Романов Воробьёв "
    "Сергеев Кузьмин Фролов Александров Дмитриев Королёв Гусев Киселёв Ильин Максимов Поляков "
    "Сорокин Виноградов Ковалёв Белов Медведев Антонов Тарасов Жуков Баранов Комаров Беляев "
    "Богданов Осипов Сидоров Титов Марков Крылов Карпов Мельников Гаврилов Тихонов Калинин "
    "Островский Вишневский Покровский Быстрицкий"
)
EMAIL_DOMAINS = ("mail.ru", "yandex.ru", "gmail.com", "bk.ru", "inbox.ru", "ya.ru")
LATIN = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        _words("a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch  y  e yu ya"),
        strict=True,
    )
)


@dataclass
class Customer:
    """One member's habits: how often they come, when they stop, what they spend, how they redeem."""

    rate: float  # Gamma draw; times the calibrated scale it is visits per day
    repeats: int  # purchases after the first before dropping out
    first_day: float  # days after the start of the period
    budget: float  # median receipt, kopecks
    home: int  # index into STORES
    redeem_odds: float  # chance to redeem at a visit once `redeem_from` points are available
    redeem_from: int
    gaps: random.Random  # its own stream, so calibration can grow `arrivals` in any order
    arrivals: list[float] = field(default_factory=list)  # unit-rate Poisson arrival times
    visits: list[tuple[datetime, int]] = field(default_factory=list)  # (moment, store index)
    member_id: int = 0

    def repeats_within(self, unit_time: float) -> int:
        """Repeat purchases the customer makes in `unit_time` (rate * days) before dropping out."""
        while len(self.arrivals) < self.repeats and (
            not self.arrivals or self.arrivals[-1] <= unit_time
        ):
            self.arrivals.append(
                (self.arrivals[-1] if self.arrivals else 0.0) + self.gaps.expovariate(1)
            )
        return min(self.repeats, bisect.bisect_right(self.arrivals, unit_time))


@dataclass
class Rows:
    """Everything to insert, in the order foreign keys need it."""

    members: list[Member] = field(default_factory=list)
    cards: list[Card] = field(default_factory=list)
    consents: list[Consent] = field(default_factory=list)
    purchases: list[Purchase] = field(default_factory=list)
    lines: list[PurchaseLine] = field(default_factory=list)
    returns: list[PurchaseReturn] = field(default_factory=list)
    return_lines: list[ReturnLine] = field(default_factory=list)


class Ids:
    """Primary keys handed out in time order, after whatever the tables already hold."""

    def __init__(self) -> None:
        self._next: dict[type[Model], int] = {}

    def take(self, model: type[Model]) -> int:
        if model not in self._next:
            top = model._default_manager.aggregate(top=Max("pk"))["top"]
            self._next[model] = (top or 0) + 1
        self._next[model] += 1
        return self._next[model] - 1


@dataclass
class Till:
    seller: Seller
    receipts: int = 0

    @property
    def store_id(self) -> int:
        return self.seller.store.id


@dataclass(frozen=True)
class DemoResult:
    summary: dict[str, object]
    terminal_name: str
    key: str


# --- who the customers are and when they come -------------------------------------------------


def _customers(rng: random.Random, count: int, days: int) -> list[Customer]:
    customers = []
    for _ in range(count):
        dropout = max(rng.betavariate(*DROPOUT_ODDS), 1e-9)
        customers.append(
            Customer(
                rate=rng.gammavariate(RATE_SHAPE, 1.0),
                # Geometric: repeat purchases before the first time the dropout chance comes up.
                repeats=int(math.log(1.0 - rng.random()) / math.log1p(-dropout)),
                first_day=rng.uniform(0, days - 1),  # joined before today, so everyone has bought
                budget=rng.lognormvariate(math.log(33_000), 0.45),
                home=0 if rng.random() < CENTRAL_SHARE else 1,
                # A quarter never redeem (breakage); the rest wait for a sum they like.
                redeem_odds=0.0 if rng.random() < 0.25 else rng.betavariate(1.2, 4.0),
                redeem_from=rng.choice((1, 50, 100, 200, 300)),
                gaps=random.Random(rng.getrandbits(64)),
            )
        )
    return customers


def _visits_per_day(customer: Customer, scale: float) -> float:
    return min(customer.rate * scale, MAX_VISITS_PER_DAY)


def _rate_scale(customers: list[Customer], days: int, target: int) -> float:
    """The scale of the Gamma rates that gives about `target` member purchases.

    Counts only grow with the scale (each customer's arrivals are fixed draws), so bisection works;
    a target beyond what dropout and the daily cap allow just gets the most there can be.
    """

    def purchases(scale: float) -> int:
        return sum(
            1 + c.repeats_within(_visits_per_day(c, scale) * (days - c.first_day))
            for c in customers
        )

    low, high = 0.0, 1.0
    while purchases(high) < target and high < 1e6:
        low, high = high, high * 2
    for _ in range(40):
        middle = (low + high) / 2
        low, high = (middle, high) if purchases(middle) < target else (low, middle)
    return high


def _cafe_moment(rng: random.Random, day: date) -> datetime:
    hour = rng.choices(HOURS, cum_weights=HOUR_WEIGHTS)[0]
    return (
        clock.start_of_business_day(day) + timedelta(hours=hour, seconds=rng.randrange(3600))
    ).astimezone(UTC)


def _plan_visits(
    rng: random.Random, customer: Customer, scale: float, start: date, days: int, now: datetime
) -> None:
    """When and where the customer buys: the first time at the café where they join."""
    rate = _visits_per_day(customer, scale)
    repeats = customer.repeats_within(rate * (days - customer.first_day))
    offsets = [customer.first_day] + [
        customer.first_day + t / rate for t in customer.arrivals[:repeats]
    ]
    moments = sorted(_cafe_moment(rng, start + timedelta(days=int(day))) for day in offsets)
    moments = [m for m in moments if m <= now]  # today's later visits have not happened yet
    other = 1 - customer.home
    customer.visits = [(moments[0], customer.home)] + [
        (m, customer.home if rng.random() < HOME_STORE_LOYALTY else other) for m in moments[1:]
    ]


def _non_member_visits(
    rng: random.Random, count: int, start: date, days: int, now: datetime
) -> list[tuple[datetime, int]]:
    """Walk-in purchases: busier at weekends and as the cafés get known."""
    dates = [start + timedelta(days=i) for i in range(days)]
    weights = [
        (0.75 + 0.5 * i / days) * (1.3 if d.weekday() >= 5 else 1.0) for i, d in enumerate(dates)
    ]
    visits = [
        (_cafe_moment(rng, day), 0 if rng.random() < CENTRAL_SHARE else 1)
        for day in rng.choices(dates, weights=weights, k=count)
    ]
    return [visit for visit in visits if visit[0] <= now]


# --- who the members are ------------------------------------------------------------------------


def _latin(text: str) -> str:
    return "".join(LATIN.get(char, char) for char in text.lower())


def _feminine(surname: str) -> str:
    return surname[:-2] + "ая" if surname.endswith("ий") else surname + "а"


def _person(rng: random.Random, today: date) -> tuple[str, str, date | None]:
    """(name, email, birth date): most give a name, some an email and a birthday."""
    female = rng.random() < 0.55
    first = rng.choice(FEMALE_NAMES if female else MALE_NAMES)
    last = rng.choice(SURNAMES)
    last = _feminine(last) if female else last
    birth = None
    if rng.random() < 0.55:
        birth = today - timedelta(days=int(rng.triangular(18, 70, 30) * 365.25))
    email = ""
    if rng.random() < 0.35:
        suffix = rng.choice(("", str(rng.randint(1, 99)), str(birth.year) if birth else "77"))
        email = f"{_latin(first)}.{_latin(last)}{suffix}@{rng.choice(EMAIL_DOMAINS)}"
    return (f"{first} {last}" if rng.random() < 0.9 else ""), email, birth


def _phone(rng: random.Random, taken: set[str]) -> str:
    """A unique Russian mobile number; phonenumbers rejects a few unassigned 9xx blocks."""
    while True:
        try:
            phone = normalize_phone(f"+79{rng.randrange(10**9):09d}")
        except InvalidPhone:
            continue
        if phone not in taken:
            taken.add(phone)
            return phone


def _enrol(
    rng: random.Random,
    rows: Rows,
    customer: Customer,
    store_ids: Sequence[int],
    today: date,
    taken: set[str],
    cards: set[str],
) -> None:
    """The rows `member_enroll` writes: the member, a card and three consent decisions."""
    joined = customer.visits[0][0] - timedelta(seconds=rng.randint(40, 240))
    name, email, birth = _person(rng, today)
    store = STORES[customer.home][0]
    rows.members.append(
        Member(
            pk=customer.member_id,
            phone=_phone(rng, taken),
            name=name,
            email=email,
            birth_date=birth,
            enrolled_store_id=store_ids[customer.home],
            created_at=joined,
        )
    )
    number = new_card_number()
    while number in cards:
        number = new_card_number()
    cards.add(number)
    rows.cards.append(Card(member_id=customer.member_id, number=number, issued_at=joined))
    decisions = (
        (Consent.Purpose.PERSONAL_DATA, Consent.Channel.ANY, True),
        (Consent.Purpose.MARKETING, Consent.Channel.SMS, rng.random() < 0.6),
        (Consent.Purpose.MARKETING, Consent.Channel.EMAIL, bool(email) and rng.random() < 0.5),
    )
    rows.consents.extend(
        Consent(
            member_id=customer.member_id,
            purpose=purpose,
            channel=channel,
            given=given,
            recorded_at=joined,
            source=f"terminal:{store}",
            text_version=settings.KOPILKA_CONSENT_TEXT_VERSION,
        )
        for purpose, channel, given in decisions
    )


# --- what they buy ------------------------------------------------------------------------------


def _basket(rng: random.Random, budget: float) -> list[engine.Line]:
    """1–4 lines: usually a drink first, then more while the visit's budget lasts."""
    quantities: dict[MenuItem, int] = {}
    spent = 0
    while True:
        first_a_drink = not quantities and rng.random() < 0.85
        pool, weights = (DRINKS, DRINK_WEIGHTS) if first_a_drink else (MENU, MENU_WEIGHTS)
        item = rng.choices(pool, cum_weights=weights)[0]
        if quantities and (
            spent + item.price > budget or (item not in quantities and len(quantities) == 4)
        ):
            break
        quantities[item] = quantities.get(item, 0) + 1
        spent += item.price
    return [
        engine.Line(sku=i.sku, name=i.name, category=i.category, quantity=Decimal(q), price=i.price)
        for i, q in quantities.items()
    ]


def _redeem_wish(
    rng: random.Random, customer: Customer, available: int
) -> Literal["", "max", "part"]:
    if available < customer.redeem_from or rng.random() >= customer.redeem_odds:
        return ""
    return "max" if rng.random() < 0.7 else "part"


class Shop:
    """Purchases and returns in time order, through the commit's own engine, row builders and
    planner; the ledger is the in-memory applier."""

    def __init__(
        self,
        rng: random.Random,
        rows: Rows,
        ids: Ids,
        ledger: MemoryLedger,
        program: engine.Program,
        now: datetime,
    ) -> None:
        self.rng, self.rows, self.ids, self.ledger, self.now = rng, rows, ids, ledger, now
        self.program = program
        self.enrolled: dict[int, datetime] = {}
        self.returns_due: list[tuple[datetime, int, Purchase, list[PurchaseLine], Till]] = []

    def sell(self, at: datetime, till: Till, customer: Customer | None) -> None:
        self._returns_until(at)
        self.expire_due(at)
        rng, store = self.rng, till.seller.store
        member_id, state, wish = None, None, ""
        if customer is None:
            lines = _basket(rng, rng.lognormvariate(math.log(30_000), 0.5))
        else:
            lines = _basket(rng, rng.lognormvariate(math.log(customer.budget), 0.35))
            member_id = customer.member_id
            program = self.program
            state = self.ledger.state(
                member_id,
                receipt_at=at,
                time_zone=store.time_zone,
                at=at,
                enrolled_at=self.enrolled.get(member_id),
                window_days=program.tier_window_days if program.tiers else None,
            )
            wish = _redeem_wish(rng, customer, state.available)
        receipt = engine.Receipt(store.code, at, store.time_zone, tuple(lines))
        quote = engine.quote(receipt, state, self.program, "max" if wish else 0)
        if wish == "part" and quote.max_redeemable > 1:
            part = rng.randint(1, quote.max_redeemable - 1)
            quote = engine.quote(receipt, state, self.program, part)
        till.receipts += 1
        ring = ReceiptIn(
            member=MemberRef(member_id=member_id),
            store=store.code,
            lines=tuple(lines),
            redeem=quote.redeem_points,
            receipt_number=f"{till.receipts:07d}",
        )
        purchase_id = self.ids.take(Purchase)
        purchase = Purchase(pk=purchase_id, **purchase_row(till.seller, ring, quote, member_id, at))
        lines_written = [
            PurchaseLine(pk=self.ids.take(PurchaseLine), **row)
            for row in line_rows(purchase_id, member_id, ring, quote)
        ]
        self.rows.purchases.append(purchase)
        self.rows.lines.extend(lines_written)
        if member_id is not None:
            lots = self.ledger.open_lots(member_id)
            self.ledger.apply(purchase_plan(till.seller, quote, member_id, purchase_id, lots, at))
        if rng.random() < RETURN_SHARE:
            comes_back = at + timedelta(minutes=rng.randint(5, 90))
            if comes_back <= self.now:
                # A whole purchase or one of its lines: whole lines need no proportional shares.
                back = lines_written if rng.random() < 0.4 else [rng.choice(lines_written)]
                heapq.heappush(self.returns_due, (comes_back, purchase.pk, purchase, back, till))

    def _returns_until(self, until: datetime) -> None:
        while self.returns_due and self.returns_due[0][0] <= until:
            at, _pk, purchase, lines, till = heapq.heappop(self.returns_due)
            self.expire_due(at)
            take_back = sum(line.earn_points for line in lines)
            refund = sum(line.redeem_points for line in lines)
            record = PurchaseReturn(
                pk=self.ids.take(PurchaseReturn),
                purchase_id=purchase.pk,
                member_id=purchase.member_id,
                terminal_id=till.seller.actor.terminal_id,
                created_at=at,
                amount=sum(line.amount for line in lines),
                earn_reversed=take_back,
                redeem_refunded=refund,
            )
            self.rows.returns.append(record)
            self.rows.return_lines.extend(
                ReturnLine(
                    purchase_return_id=record.pk,
                    purchase_line_id=line.pk,
                    member_id=purchase.member_id,
                    quantity=line.quantity,
                    amount=line.amount,
                    discount=line.discount,
                    earn_reversed=line.earn_points,
                    redeem_refunded=line.redeem_points,
                )
                for line in lines
            )
            if purchase.member_id is None:
                continue
            store = till.seller.store
            plan, taken = plan_return(
                member_id=purchase.member_id,
                purchase_id=purchase.pk,
                return_id=record.pk,
                take_back=take_back,
                refund=refund,
                lots=self.ledger.purchase_lots(purchase.member_id, purchase.pk),
                paid_until=self.ledger.redeemed_until(purchase.pk),
                program=self.program,
                time_zone=store.time_zone,
                at=at,
                actor_label=till.seller.actor.label,
                spend_delta=-sum(line.amount - line.discount for line in lines),
            )
            self.ledger.apply(plan)
            record.earn_reversed, record.earn_not_recovered = taken, take_back - taken

    def expire_due(self, until: datetime) -> None:
        """The daily expire_points job for every run up to `until` (EXPIRY_RUN_DELAY after each
        expiry boundary): one EXPIRE transfer per member."""
        self.ledger.expire_runs(until, delay=EXPIRY_RUN_DELAY, actor_label=EXPIRY_ACTOR)

    def close(self) -> None:
        """Returns still due and expiry runs up to now."""
        self._returns_until(self.now)
        self.expire_due(self.now)


# --- writing ------------------------------------------------------------------------------------

# Children first; raw DELETEs because the ORM would load every row to check its PROTECT links.
DEMO_TABLES = (
    Voucher, BonusGrant, RuleUse, LotSpend, PointLot, Posting, Transfer, ReturnLine, PurchaseReturn, PurchaseLine,
    Purchase, TierChange, Consent, Card, Member, Terminal, Store,
)  # fmt: skip


def demo_reset() -> None:
    """Delete members, purchases, points, terminals and stores (not users, settings or the audit log)."""
    with connection.cursor() as cursor:
        for model in DEMO_TABLES:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")


def admin_ensure(password: str) -> None:
    """A staff superuser `admin` with this password, created or reset."""
    user_model = get_user_model()
    user = user_model._default_manager.filter(username="admin").first() or user_model(
        username="admin"
    )
    user.is_staff = user.is_superuser = user.is_active = True
    user.set_password(password)
    user.save()


def _rows_write(rows: Rows, ledger: MemoryLedger) -> None:
    tables: list[Sequence[Model]] = [
        rows.members, rows.cards, rows.consents, rows.purchases, rows.lines, rows.returns,
        rows.return_lines,
    ]  # fmt: skip
    tables += [
        [model(**row) for row in ledger.rows[table]] for table, model in LEDGER_TABLES.items()
    ]
    for objects in tables:
        if objects:
            type(objects[0])._default_manager.bulk_create(objects, batch_size=BATCH)
    # Ids were set here, so PostgreSQL's sequences must catch up (SQLite's AUTOINCREMENT does).
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), list(DEMO_TABLES)):
            cursor.execute(sql)


# The café's program when it has none of its own: the default terms with two tiers, in force
# from the demo's first day, so the demo shows levels, their privileges and their progress.
DEMO_TIERS = {
    "tiers": [
        {
            "code": "silver",
            "name": "Серебро",
            "qualify_spend": "5000.00",
            "earn_multiplier": "1.2",
            "privileges": ["Кофе без очереди"],
        },
        {
            "code": "gold",
            "name": "Золото",
            "qualify_spend": "15000.00",
            "earn_multiplier": "1.5",
            "redeem_max_percent": "50",
            "privileges": ["Кофе без очереди", "Десерт дня в подарок по пятницам"],
        },
    ],
    "tier_window_days": 365,
    "tier_grace_days": 30,
}


def _program_ensure(since: datetime) -> engine.Program:
    """The program the demo sells under: the owner's own if there is a version besides the one
    the migration wrote, else the default terms with DEMO_TIERS from `since` (written as it
    stands: the demo writes its past)."""
    if ProgramVersion.objects.exclude(created_by="system:migration").exists():
        return program_in_force(since)  # the owner's, or an earlier demo's
    document = program_to_document(program_from_document(DEMO_TIERS))
    version = ProgramVersion.objects.create(
        document=document,
        effective_from=since,
        created_at=since,
        created_by=DEMO_ACTOR.label,
        note="демо: уровни Серебро и Золото",
    )
    program_cache_clear()
    return program_version(version.pk)


# The café's catalogue (kept between loads, like the program): what points buy, what it costs.
DEMO_REWARDS = (
    ("cappuccino", "Бесплатный капучино", Reward.Kind.FREE_PRODUCT, {"sku": "COF-CAP"}, 250, 3000),
    ("croissant", "Круассан к кофе", Reward.Kind.FREE_PRODUCT, {"sku": "PST-CRS"}, 150, 2500),
    ("minus-100", "Скидка 100 ₽", Reward.Kind.FIXED_DISCOUNT, {"amount": 10000}, 300, 10000),
    ("mug", "Фирменная кружка", Reward.Kind.GIFT, {"stock": 20}, 900, 25000),
)


def _rewards_ensure(now: datetime) -> None:
    if Reward.objects.exists():
        return  # the owner's own catalogue stays as it is
    Reward.objects.bulk_create(
        Reward(
            code=code,
            name=name,
            kind=kind,
            points_price=price,
            cost=cost,
            created_at=now,
            **fields,
        )
        for code, name, kind, fields, price, cost in DEMO_REWARDS
    )


CASHIERS = (("anna", "olga", "pavel"), ("maria", "ivan"))


def _cashiers_ensure(store_ids: Sequence[int]) -> dict[int, list[int]]:
    """The baristas who enrol members at each café: users without staff access or a password."""
    user_model = get_user_model()
    by_store: dict[int, list[int]] = {}
    for store_id, names in zip(store_ids, CASHIERS, strict=True):
        by_store[store_id] = []
        for name in names:
            user, created = user_model._default_manager.get_or_create(username=f"{name}.barista")
            if created:
                user.set_unusable_password()
                user.save()
            by_store[store_id].append(user.pk)
    return by_store


def _tills() -> tuple[list[Till], Terminal, str]:
    """The two cafés; only the central one has a till on the API (its key is returned)."""
    terminal, key = terminal_create(
        store_code=STORES[0][0], store_name=STORES[0][1], actor=DEMO_ACTOR
    )
    park, _created = Store.objects.update_or_create(
        code=STORES[1][0], defaults={"name": STORES[1][1]}
    )
    label = f"terminal:{terminal.store.code}/{terminal.name}"
    central_store = StoreRef(terminal.store_id, terminal.store.code, terminal.store.time_zone)
    central = Till(Seller(Actor(label=label, terminal_id=terminal.pk), central_store))
    # The park café's receipts come in as an import, without a terminal.
    park_till = Till(Seller(DEMO_ACTOR, StoreRef(park.pk, park.code, park.time_zone)))
    return [central, park_till], terminal, key


def demo_load(*, members: int, purchases: int, months: int, seed: int) -> DemoResult:
    """Generate and write the demo data; the caller holds the transaction."""
    rng = random.Random(seed)
    now = clock.now()
    today = clock.business_date(now)
    start = today - timedelta(days=round(months * 365.25 / 12))
    days = (today - start).days + 1  # today included, up to now
    tills, terminal, key = _tills()
    rows, ids = Rows(), Ids()

    customers = _customers(rng, members, days)
    non_members = round(purchases * NON_MEMBER_SHARE)
    scale = _rate_scale(customers, days, purchases - non_members)
    for customer in customers:
        _plan_visits(rng, customer, scale, start, days, now)
    # Member ids in the order people joined, as the live system would have numbered them.
    customers.sort(key=lambda c: c.visits[0][0])
    phones: set[str] = set()
    cards: set[str] = set()
    for customer in customers:
        customer.member_id = ids.take(Member)
        _enrol(rng, rows, customer, [till.store_id for till in tills], today, phones, cards)

    visits: list[tuple[datetime, int, int, Customer | None]] = [
        (moment, c.member_id, store, c) for c in customers for moment, store in c.visits
    ]
    visits += [
        (moment, 0, store, None)
        for moment, store in _non_member_visits(rng, non_members, start, days, now)
    ]
    visits.sort(key=lambda v: (v[0], v[1]))

    ledger = MemoryLedger(lambda table: ids.take(LEDGER_TABLES[table]))
    program = _program_ensure(clock.start_of_business_day(start))
    shop = Shop(rng, rows, ids, ledger, program, now)
    shop.enrolled = {member.pk: member.created_at for member in rows.members}
    for moment, _member_id, store, buyer in visits:
        shop.sell(moment, tills[store], buyer)
    shop.close()
    cashiers = _cashiers_ensure([till.store_id for till in tills])
    staff_rng = random.Random(seed + 1)  # its own stream: the visits stay as they were
    reached: dict[object, datetime] = {}  # member id -> when they reached their tier
    for row in ledger.rows["tier_change"]:
        assert isinstance(row["created_at"], datetime)
        reached[row["member_id"]] = row["created_at"]
    for member in rows.members:
        book = ledger.books[member.pk]
        member.points_balance, member.spend_total = book.balance, book.spend
        member.state_version = book.version
        member.tier_code = book.tier
        member.tier_since = reached.get(member.pk)
        assert member.enrolled_store_id is not None  # every demo member joins at a café
        member.enrolled_by_id = staff_rng.choice(cashiers[member.enrolled_store_id])
    _rows_write(rows, ledger)
    _rewards_ensure(now)

    summary: dict[str, object] = {
        "members": len(rows.members),
        "purchases": len(rows.purchases),
        "non_member_purchases": sum(1 for p in rows.purchases if p.member_id is None),
        "returns": len(rows.returns),
        "transfers": len(ledger.rows["transfer"]),
        "points_earned": ledger.points[Kind.EARN],
        "points_redeemed": -ledger.points[Kind.REDEEM],
        "points_expired": -ledger.points[Kind.EXPIRE],
        "points_taken_back_by_returns": -ledger.points[Kind.RETURN],  # net of refunds
        "points_held": sum(book.balance for book in ledger.books.values()),
        "from": start.isoformat(),
        "to": today.isoformat(),
    }
    audit_record(
        actor=DEMO_ACTOR, action="demo.load", target_type="demo", target_id=None, data=summary
    )
    return DemoResult(summary=summary, terminal_name=terminal.name, key=key)
