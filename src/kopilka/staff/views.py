"""The cashier screen (`/till/`): find the member, say the talking points, price the receipt
with each line's reasons, commit it. The same services and engine as the POS API, with the
staff user as the actor and the chosen store as the seller's store."""

import csv
import io
import json
import re
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.core.errors import DomainError
from kopilka.core.idempotency import form_key, request_fingerprint, run_idempotent
from kopilka.core.login_throttle import client_ip
from kopilka.core.models import AuditEntry
from kopilka.members.models import Member
from kopilka.members.selectors import member_find
from kopilka.portal.selectors import member_vouchers
from kopilka.portal.services import Joining, join_code_request, join_confirm, phone_read
from kopilka.pos.models import Purchase, PurchaseLine, Store
from kopilka.pos.receipts import MemberRef, QuoteResult, ReceiptIn
from kopilka.pos.services import (
    ReturnRequestLine,
    purchase_commit_once,
    purchase_return,
    receipt_quote,
    returned_quantities,
)
from kopilka.pos.stores import Seller, StoreRef
from kopilka.program import engine
from kopilka.program.selectors import program_in_force
from kopilka.staff.audit import audit_changes
from kopilka.staff.forms import (
    AuditFilter,
    FindForm,
    PeriodForm,
    ReceiptForm,
    TillCodeForm,
    TillJoinForm,
)
from kopilka.staff.results import (
    CAME_BACK_DAYS,
    QuizScores,
    Row,
    quiz_scores,
    staff_leaderboard,
    store_results,
)
from kopilka.staff.roles import manager_required, owner_required, stores_of, till_required
from kopilka.staff.talking import talking_points

STORE_KEY = "till_store"
PRODUCTS = 60  # the store's products offered: those sold most recently


def _store(request: HttpRequest) -> tuple[Store | None, list[Store]]:
    """The store this till works for (chosen once per session), and the person's stores."""
    mine = stores_of(request.user)
    chosen = request.GET.get("store") or request.session.get(STORE_KEY)
    store = next((s for s in mine if s.code == chosen), mine[0] if len(mine) == 1 else None)
    if store is not None:
        request.session[STORE_KEY] = store.code
    return store, mine


def _seller(request: HttpRequest, store: Store) -> Seller:
    return Seller(Actor.staff(request.user), StoreRef(store.pk, store.code, store.time_zone))


def _today(request: HttpRequest) -> dict[str, int]:
    """This person's results today: members enrolled, receipts with a card, points given."""
    start = clock.start_of_business_day(clock.business_date(clock.now()))
    user_id = request.user.pk
    commits = AuditEntry.objects.filter(
        actor_user_id=user_id, action="purchase.commit", created_at__gte=start
    )
    with_card = [e.data for e in commits.filter(member_id__isnull=False).only("data")]
    return {
        "enrolled": Member.objects.filter(enrolled_by_id=user_id, created_at__gte=start).count(),
        "receipts": commits.count(),
        "with_card": len(with_card),
        "points_earned": sum(int(d.get("earn", 0)) for d in with_card),
        "points_redeemed": sum(int(d.get("redeem", 0)) for d in with_card),
    }


@till_required
def till(request: HttpRequest) -> HttpResponse:
    """Choose the store, then find the member (or take a guest's receipt)."""
    store, mine = _store(request)
    form = FindForm(request.GET if "q" in request.GET else None)
    if store is not None and form.is_bound and form.is_valid():
        try:
            member = _find(form.cleaned_data["q"])
        except DomainError as refused:
            form.add_error("q", refused.message)
        else:
            return redirect("staff:till-member", member.pk)
    context = {"store": store, "stores": mine, "form": form, "today": _today(request)}
    return render(request, "staff/till.html", context, status=400 if form.errors else 200)


def _find(text: str) -> Member:
    """A QR token (it has dots), a 16-digit card number, else a phone."""
    text = text.strip()
    if "." in text:
        return member_find(qr=text)
    digits = re.sub(r"[\s-]", "", text)
    if digits.isdigit() and len(digits) == 16:
        return member_find(card=digits)
    return member_find(phone=text)


def _products(store: Store) -> dict[str, tuple[str, str, int]]:
    """The store's products as recently sold: SKU -> (name, category, last price)."""
    found: dict[str, tuple[str, str, int]] = {}
    recent = PurchaseLine.objects.filter(purchase__store=store).order_by("-id")
    for sku, name, category, price in recent.values_list("sku", "name", "category", "price")[
        : PRODUCTS * 20
    ]:
        if sku not in found and len(found) < PRODUCTS:
            found[sku] = (name or sku, category, price)
    return found


def _receipt(
    form: ReceiptForm, member: Member, store: Store, number: str, vouchers: tuple[str, ...]
) -> ReceiptIn:
    data = form.cleaned_data
    if data.get("total_kopecks"):
        lines = [engine.Line("TOTAL", _("Receipt total"), "", Decimal(1), data["total_kopecks"])]
    else:
        lines = [engine.Line(*row) for row in form.line_rows()]
    choice = data["redeem"]
    redeem: engine.Redeem = 0 if choice == "none" else "max" if choice == "max" else data["points"]
    return ReceiptIn(
        member=MemberRef(member_id=member.pk),
        store=store.code,
        lines=tuple(lines),
        redeem=redeem,
        receipt_number=number,
        vouchers=vouchers,
    )


@till_required
@require_http_methods(["GET", "POST"])
def till_member(request: HttpRequest, member_id: int) -> HttpResponse:
    """The member at the till: what to say, the receipt, its quote with reasons, the commit."""
    store, _mine = _store(request)
    if store is None:
        return redirect("staff:till")
    member = Member.objects.filter(pk=member_id, status=Member.Status.ACTIVE).first()
    if member is None:
        raise Http404
    products = _products(store)
    form = ReceiptForm(request.POST or None, products=products)
    vouchers = [v for v in member_vouchers(member) if v.state == "active"]
    quoted: QuoteResult | None = None
    committed: dict[str, Any] | None = None
    refused = ""
    number = request.POST.get("receipt_number") or ""
    if request.method == "POST" and form.is_valid():
        number = form.cleaned_data["receipt_number"] or _receipt_number(request)
        usable = {v.voucher.code for v in vouchers}
        chosen = tuple(c for c in request.POST.getlist("voucher") if c in usable)
        receipt = _receipt(form, member, store, number, chosen)
        seller = _seller(request, store)
        try:
            if request.POST.get("action") == "commit":
                committed = _commit(request, seller, receipt)
            else:
                quoted = receipt_quote(seller=seller, receipt=receipt)
        except DomainError as refusal:
            refused = refusal.message
    program = program_in_force()
    context = {
        "store": store,
        "member": member,
        "talking": talking_points(
            member, program, clock.now(), store=store.code, time_zone=store.time_zone
        ),
        "form": form,
        "quoted": quoted.quote if quoted else None,
        "committed": committed,
        "refused": refused,
        "number": number,
        "key": request.POST.get("key") or uuid.uuid4().hex,
        "today": _today(request),
        "recent": _recent(member, store),
        "vouchers": vouchers,
        "chosen": request.POST.getlist("voucher"),
    }
    status = 400 if form.errors or refused else 200
    return render(request, "staff/till_member.html", context, status=status)


def _receipt_number(request: HttpRequest) -> str:
    """A number for a receipt rung up here without one: the person, the day and the form's own
    key (a resent form keeps its number, so its replay is found)."""
    key = re.sub(r"[^0-9a-f]", "", request.POST.get("key", ""))[:8] or uuid.uuid4().hex[:8]
    return f"S{request.user.pk}-{timezone.localtime():%Y%m%d}-{key}"


def _commit(request: HttpRequest, seller: Seller, receipt: ReceiptIn) -> dict[str, Any]:
    """Commit once per rendered form: a double click or a resent form records one purchase."""
    key = form_key(
        request.POST.get("key", ""), _("The page is out of date: price the receipt again.")
    )

    def render_body(purchase: Any, result: QuoteResult) -> dict[str, Any]:
        q = result.quote
        return {
            "purchase_id": purchase.pk,
            "receipt_number": purchase.receipt_number,
            "amount": q.amount,
            "discount": q.discount,
            "redeem_points": q.redeem_points,
            "payable": q.payable,
            "earn_points": q.earn_points,
        }

    status, body = purchase_commit_once(
        seller=seller,
        receipt=receipt,
        key=key,
        request_hash=request_fingerprint("till", receipt.member.member_id, repr(receipt)),
        render=render_body,
    )
    answer: dict[str, Any] = json.loads(body) if isinstance(body, str) else dict(body)
    if status != 201:
        raise CommitRefused(str(answer["error"]["message"]))
    return answer


class CommitRefused(DomainError):
    code = "commit_refused"


JOINING = "till_joining"


@till_required
@require_http_methods(["GET", "POST"])
def till_join(request: HttpRequest) -> HttpResponse:
    """Enrol a member at the till: phone, name, consents, then the code from their SMS."""
    store, _mine = _store(request)
    if store is None:
        return redirect("staff:till")
    if request.GET.get("restart"):
        request.session.pop(JOINING, None)
    joining = Joining.read(request.session.get(JOINING))
    asked = TillJoinForm(request.POST if request.POST.get("step") == "ask" else None)
    code = TillCodeForm(request.POST if request.POST.get("step") == "code" else None)
    if asked.is_bound and asked.is_valid():
        data = asked.cleaned_data
        try:
            phone = phone_read(data["phone"])
            join_code_request(phone=phone, ip=client_ip(request))
        except DomainError as refused:
            asked.add_error("phone", refused.message)
        else:
            joining = Joining.asked(
                request,
                phone=phone,
                name=data["name"].strip(),
                sms_marketing=data["sms_marketing"],
                store_id=store.pk,
                language="",  # the till's page is in the cashier's language, not the member's
            )
            request.session[JOINING] = joining.stored()
            code = TillCodeForm()
    elif code.is_bound and joining is not None and code.is_valid():
        try:
            member, _new = join_confirm(
                joining=joining,
                code=code.cleaned_data["code"],
                actor=Actor.staff(request.user),
                source=f"till:{store.code}",
            )
        except DomainError as refused:
            code.add_error("code", refused.message)
        else:
            request.session.pop(JOINING, None)
            return redirect("staff:till-member", member.pk)
    waiting = (joining is not None and not asked.is_bound) or (asked.is_bound and asked.is_valid())
    context = {
        "store": store,
        "asked": asked,
        "code": code,
        "joining": joining if waiting else None,
        "today": _today(request),
    }
    status = 400 if asked.errors or code.errors else 200
    return render(request, "staff/till_join.html", context, status=status)


RECENT = 5  # the member's latest receipts in this store offered for a return


def _recent(member: Member, store: Store) -> list[Purchase]:
    return list(
        Purchase.objects.filter(member=member, store=store).order_by("-created_at", "-id")[:RECENT]
    )


@till_required
@require_http_methods(["GET", "POST"])
def till_return(request: HttpRequest, member_id: int, purchase_id: int) -> HttpResponse:
    """Return goods of one of the member's receipts in this store: how many of each line come
    back; the points are taken back and refunded by the POS service, once per form."""
    store, _mine = _store(request)
    if store is None:
        return redirect("staff:till")
    purchase = Purchase.objects.filter(pk=purchase_id, member_id=member_id, store=store).first()
    if purchase is None:
        raise Http404
    back = returned_quantities(purchase.pk)
    rows = [(line, line.quantity - back[line.pk]) for line in purchase.lines.order_by("position")]
    done: dict[str, Any] | None = None
    refused = ""
    if request.method == "POST":
        try:
            wanted = _wanted(request, rows)
            done = _return_once(request, _seller(request, store), purchase.pk, rows, wanted)
        except DomainError as refusal:
            refused = refusal.message
    context = {
        "store": store,
        "purchase": purchase,
        "rows": rows,
        "done": done,
        "refused": refused,
        "key": uuid.uuid4().hex if refused else request.POST.get("key") or uuid.uuid4().hex,
        "today": _today(request),
    }
    return render(request, "staff/till_return.html", context, status=400 if refused else 200)


class NothingReturned(DomainError):
    code = "validation_error"
    status = 400


def _wanted(
    request: HttpRequest, rows: list[tuple[PurchaseLine, Decimal]]
) -> list[ReturnRequestLine]:
    wanted = []
    for line, _left in rows:
        raw = request.POST.get(f"back_{line.pk}", "").strip().replace(",", ".")
        if not raw:
            continue
        try:
            quantity = Decimal(raw)
        except ArithmeticError:
            raise NothingReturned(_("Quantities are numbers, like 1 or 0.5.")) from None
        if not quantity.is_finite() or quantity < 0:
            raise NothingReturned(_("Quantities are numbers, like 1 or 0.5."))
        if quantity:
            wanted.append(ReturnRequestLine(sku=line.sku, quantity=quantity))
    if not wanted:
        raise NothingReturned(_("Enter how many of which item come back."))
    return wanted


def _return_once(
    request: HttpRequest,
    seller: Seller,
    purchase_id: int,
    rows: list[tuple[PurchaseLine, Decimal]],
    wanted: list[ReturnRequestLine],
) -> dict[str, Any]:
    """Once per form: a resent form replays the first answer (checked against what is left
    only the first time)."""
    key = form_key(
        request.POST.get("key", ""), _("The page is out of date: open the return again.")
    )

    def work() -> tuple[int, dict[str, object]]:
        left = {line.sku: q for line, q in rows}
        for want in wanted:
            if want.quantity > left.get(want.sku, Decimal(0)):
                name = next((line.name for line, _q in rows if line.sku == want.sku), want.sku)
                raise NothingReturned(
                    _("At most %(left)s of %(name)s can come back.")
                    % {"left": left.get(want.sku, 0), "name": name}
                )
        record = purchase_return(seller=seller, purchase_id=purchase_id, lines=wanted)
        return 201, {
            "amount": record.amount,
            "earn_reversed": record.earn_reversed,
            "redeem_refunded": record.redeem_refunded,
            "not_recovered": record.earn_not_recovered,
        }

    status, body = run_idempotent(
        scope=seller.idempotency_scope,
        key=key,
        request_hash=request_fingerprint("till-return", purchase_id, repr(wanted)),
        work=work,
    )
    if status != 201:
        raise CommitRefused(str(body["error"]["message"]))  # type: ignore[index]
    return body


@manager_required
def results(request: HttpRequest) -> HttpResponse:
    """Store results and the staff leaderboard for a period (default: this month so far); the
    same figures as CSV with `?format=csv`."""
    today = clock.business_date(clock.now())
    initial = {"since": today.replace(day=1), "until": today}
    form = PeriodForm(request.GET if "since" in request.GET else None, initial=initial)
    period = form.cleaned_data if form.is_bound and form.is_valid() else initial
    stores = stores_of(request.user)
    since, until = period["since"], period["until"]
    by_store = store_results(stores, since, until)
    board = staff_leaderboard(stores, since, until)
    quiz = quiz_scores(stores)
    if request.GET.get("format") == "csv" and not form.errors:
        return _results_csv(by_store, board, quiz, since, until)
    context = {
        "section": "staff",
        "form": form,
        "by_store": by_store,
        "board": board,
        "quiz": quiz,
        "since": since,
        "until": until,
        "days": CAME_BACK_DAYS,
    }
    return render(request, "staff/results.html", context, status=400 if form.errors else 200)


CSV_COLUMNS = ("enrolled", "came_back", "came_back_share", "receipts", "with_card", "card_share",
               "points_redeemed", "rewards_given")  # fmt: skip


# The latest and the best score as shares of right answers (like card_share), of all time.
QUIZ_COLUMNS = ("quiz_latest", "quiz_best", "quiz_attempts")


def _results_csv(
    by_store: list[Row], board: list[Row], quiz: list[QuizScores], since: date, until: date
) -> HttpResponse:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["kind", "name", *CSV_COLUMNS, *QUIZ_COLUMNS])
    for kind, rows in (("store", by_store), ("staff", board)):
        for row in rows:
            writer.writerow([kind, row.name, *(getattr(row.figures, c) for c in CSV_COLUMNS)])
    for q in quiz:
        shares = [round(right / total, 3) if total else None for right, total in (q.latest, q.best)]
        writer.writerow(["quiz", q.name, *[""] * len(CSV_COLUMNS), *shares, q.attempts])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    name = f"staff-results-{since.isoformat()}-{until.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@owner_required
def audit(request: HttpRequest) -> HttpResponse:
    """Every change with who made it, filtered by person, object and period (the owner's)."""
    form = AuditFilter(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    changes = (
        audit_changes(
            person=(data.get("person") or "").strip(),
            target=(data.get("target") or "").strip(),
            since=data.get("since"),
            until=data.get("until") or data.get("since"),
        )
        if not form.errors
        else []
    )
    context = {"section": "audit", "form": form, "changes": changes}
    return render(request, "staff/audit.html", context, status=400 if form.errors else 200)
