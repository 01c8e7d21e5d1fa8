"""Analytics pages for staff: charts first, tables below, every table exportable."""

import io
import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial, wraps
from typing import Any, Protocol

import polars as pl
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kopilka.analytics import charts
from kopilka.analytics.exports import table_csv
from kopilka.analytics.labels import KPIS, SEGMENTS
from kopilka.analytics.models import Snapshot
from kopilka.analytics.pipeline import RFM_MOVEMENT_DAYS
from kopilka.analytics.selectors import (
    TABLES,
    campaign_uplift,
    rfm_movement_between,
    scope_kpis,
    segment_member_ids,
    snapshot_is_stale,
    snapshot_latest,
    snapshot_pending,
    snapshot_table,
)
from kopilka.analytics.services import (
    json_safe,
    snapshot_dir,
    snapshot_request,
)
from kopilka.backoffice.forms import (
    CampaignForm,
    MovementForm,
    ScopeForm,
    SegmentForm,
    default_period,
)
from kopilka.campaigns.models import Campaign
from kopilka.campaigns.services import CampaignInvalid, campaign_create
from kopilka.core.audit import Actor
from kopilka.pos.models import Store
from kopilka.staff.roles import analytics_required

View = Callable[..., HttpResponse]
EXPORT_FORMATS = ("csv", "parquet", "json")
CHART_WIDTHS = (charts.WIDE, charts.NARROW)


def with_snapshot(view: View) -> View:
    """Staff only; hands the view the latest ready snapshot and asks for a fresh one if stale."""

    @analytics_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        snapshot = snapshot_latest()
        if snapshot_is_stale(snapshot):
            snapshot_request(actor=Actor.staff(request.user))  # nothing if one is on its way
        if snapshot is None:
            return render(request, "backoffice/no_snapshot.html", {"pending": snapshot_pending()})
        return view(request, snapshot, *args, **kwargs)

    return wrapper


@dataclass(frozen=True)
class Chart:
    """One chart in its two layouts: the page shows the wide one on a desktop and the narrow
    one on a phone (backoffice.css), so its text stays readable at either size."""

    wide: SafeString
    narrow: SafeString

    def __html__(self) -> SafeString:
        return mark_safe(  # two SVGs of our own (see _chart_svg) in fixed markup
            f'<div class="chart-wide">{self.wide}</div>'
            f'<div class="chart-narrow">{self.narrow}</div>'
        )

    __str__ = __html__  # the template engine calls str() before escaping


_charts: OrderedDict[tuple[str, str, str, int], SafeString] = OrderedDict()
CHARTS_CACHED = 128


class ChartRender(Protocol):
    def __call__(self, *, width: int) -> str: ...


def _chart(snapshot: Snapshot, key: str, render: ChartRender) -> Chart:
    """A chart of a snapshot in both widths, each rendered once per language and process:
    snapshots never change. `render` takes the chart's natural width."""
    return chart_pair(str(snapshot_dir(snapshot.pk)), key, render)


def chart_pair(scope: str, key: str, render: ChartRender) -> Chart:
    """A chart of something that never changes once made (`scope` names it: a snapshot, a
    finished what-if run) in both widths, each rendered once per language and process."""
    return Chart(*(_chart_svg(scope, key, render, width) for width in CHART_WIDTHS))


def _chart_svg(scope: str, key: str, render: ChartRender, width: int) -> SafeString:
    cache_key = (scope, key, get_language() or "", width)
    if cache_key not in _charts:
        # Our own charts: matplotlib escapes every text it writes into the SVG.
        _charts[cache_key] = mark_safe(render(width=width))
        while len(_charts) > CHARTS_CACHED:
            _charts.popitem(last=False)
    _charts.move_to_end(cache_key)
    return _charts[cache_key]


def _context(snapshot: Snapshot, section: str, **extra: Any) -> dict[str, Any]:
    return {"snapshot": snapshot, "section": section, "pending": snapshot_pending(), **extra}


@with_snapshot
def overview(request: HttpRequest, snapshot: Snapshot) -> HttpResponse:
    as_of_day = date.fromisoformat(snapshot.summary["as_of_day"])
    stores = list(Store.objects.order_by("name").values_list("pk", "name"))
    # Without a query the page shows the snapshot's own figures for the last 30 days: no
    # computation at all. Any other period, store or segment is computed from its facts.
    form = ScopeForm(request.GET or None, initial=default_period(as_of_day), stores=stores)
    if form.is_valid():
        segment = form.cleaned_data["segment"]
        members = segment_member_ids(snapshot, segment) if segment else None
        scope = form.scope(members)
        now, before = scope_kpis(snapshot, scope), scope_kpis(snapshot, scope.previous())
    else:
        now, before = snapshot.summary["kpis"], snapshot.summary["kpis_previous"]
    monthly = snapshot_table(snapshot, "kpi_monthly")
    cards = [
        {"kpi": k, "value": now.get(k.key), "previous": before.get(k.key)}
        for k in KPIS
        if now.get(k.key) is not None
    ]
    stores_table = snapshot_table(snapshot, "stores")
    return render(
        request,
        "backoffice/overview.html",
        _context(
            snapshot,
            "overview",
            form=form,
            cards=cards,
            revenue_chart=_chart(
                snapshot,
                "overview.revenue_chart",
                lambda width: charts.kpi_trend_chart(
                    monthly,
                    title=_("Revenue: all receipts and members' receipts, ₽"),
                    series=[("revenue", _("Revenue")), ("member_revenue", _("Members"))],
                    money=True,
                    in_progress=as_of_day,
                    width=width,
                ),
            ),
            receipt_chart=_chart(
                snapshot,
                "overview.receipt_chart",
                lambda width: charts.kpi_trend_chart(
                    monthly,
                    title=_("Average receipt: members and guests, ₽"),
                    series=[
                        ("avg_receipt_member", _("Average receipt, members")),
                        ("avg_receipt_guest", _("Average receipt, guests")),
                    ],
                    money=True,
                    in_progress=as_of_day,
                    width=width,
                ),
            ),
            share_chart=_chart(
                snapshot,
                "overview.share_chart",
                lambda width: charts.kpi_trend_chart(
                    monthly,
                    title=_("Share of revenue from members"),
                    series=[("member_revenue_share", _("Share of revenue from members"))],
                    money=False,
                    percent=True,
                    in_progress=as_of_day,
                    width=width,
                ),
            ),
            stores=stores_table.to_dicts(),
            staff=snapshot_table(snapshot, "staff").head(50).to_dicts(),
        ),
    )


@with_snapshot
def rfm(request: HttpRequest, snapshot: Snapshot) -> HttpResponse:
    labels = {key: str(label) for key, (label, _advice) in SEGMENTS.items()}
    segments = snapshot_table(snapshot, "rfm_segments")
    rows = [
        row | {"label": labels[row["segment"]], "advice": SEGMENTS[row["segment"]][1]}
        for row in segments.to_dicts()
    ]
    last_day = date.fromisoformat(snapshot.summary["as_of_day"])
    movement_form = MovementForm(
        request.GET or None,
        initial={"since": last_day - timedelta(days=RFM_MOVEMENT_DAYS), "until": last_day},
        last_day=last_day,
    )
    if movement_form.is_valid():
        moves = rfm_movement_between(
            snapshot,
            since=movement_form.cleaned_data["since"],
            until=movement_form.cleaned_data["until"],
        )
    else:
        moves = snapshot_table(snapshot, "rfm_movement")
    movement = (
        moves.filter(pl.col("from_segment") != pl.col("to_segment"))
        .sort("members", descending=True)
        .head(15)
    )
    labels_with_none = labels | {"none": _("no purchase yet")}
    return render(
        request,
        "backoffice/rfm.html",
        _context(
            snapshot,
            "rfm",
            grid_chart=_chart(
                snapshot,
                "rfm.grid_chart",
                lambda width: charts.rfm_grid_chart(
                    snapshot_table(snapshot, "rfm_grid"),
                    title=_("Members by recency and frequency"),
                    segment_labels=labels,
                    width=width,
                ),
            ),
            share_chart=_chart(
                snapshot,
                "rfm.share_chart",
                lambda width: charts.bar_chart(
                    [r["label"] for r in rows],
                    [r["revenue_share"] for r in rows],
                    title=_("Which segments bring the revenue"),
                    label=_("Share of revenue in the last 12 months"),
                    percent=True,
                    width=width,
                ),
            ),
            segments=rows,
            movement_form=movement_form,
            movement=[
                {
                    "from": labels_with_none[m["from_segment"]],
                    "to": labels_with_none[m["to_segment"]],
                    "members": m["members"],
                }
                for m in movement.to_dicts()
            ],
        ),
    )


@with_snapshot
def cohorts(request: HttpRequest, snapshot: Snapshot) -> HttpResponse:
    table = snapshot_table(snapshot, "cohorts")
    as_of_day = date.fromisoformat(snapshot.summary["as_of_day"])
    return render(
        request,
        "backoffice/cohorts.html",
        _context(
            snapshot,
            "cohorts",
            retention_chart=_chart(
                snapshot,
                "cohorts.retention_chart",
                lambda width: charts.cohort_heatmap(
                    table,
                    title=_("Retention: share of each cohort who bought, by month since joining"),
                    value="retention",
                    in_progress=as_of_day,
                    width=width,
                ),
            ),
            revenue_chart=_chart(
                snapshot,
                "cohorts.revenue_chart",
                lambda width: charts.cohort_heatmap(
                    table,
                    title=_("Revenue per member of each cohort, by month since joining, ₽"),
                    value="revenue_per_member",
                    in_progress=as_of_day,
                    width=width,
                ),
            ),
        ),
    )


@with_snapshot
def campaigns(request: HttpRequest, snapshot: Snapshot) -> HttpResponse:
    results = []
    for campaign in Campaign.objects.order_by("-starts_on")[:20]:
        result = campaign_uplift(snapshot, campaign)
        results.append(
            {
                "campaign": campaign,
                "result": result,
                "chart": _chart(
                    snapshot,
                    f"campaign-{campaign.pk}",
                    partial(
                        charts.uplift_chart, result, title=_("Targeted members against control")
                    ),
                ),
            }
        )
    return render(
        request, "backoffice/campaigns.html", _context(snapshot, "campaigns", results=results)
    )


@with_snapshot
def lifetime(request: HttpRequest, snapshot: Snapshot) -> HttpResponse:
    """CLV: the models' figures and check, distributions, and audiences for campaigns."""
    customers = snapshot_table(snapshot, "customers")
    segment_form = SegmentForm(request.GET or None)
    audience = segment_form.rule().apply(customers) if segment_form.is_valid() else None
    campaign_form = CampaignForm(request.POST or None)
    if request.method == "POST" and audience is not None and campaign_form.is_valid():
        try:
            campaign = campaign_create(
                **campaign_form.cleaned_data,
                member_ids=audience["member_id"].to_list(),
                actor=Actor.staff(request.user),
            )
        except CampaignInvalid as exc:
            campaign_form.add_error(None, exc.message)
        else:
            messages.success(request, _("Campaign “%(name)s” created.") % {"name": campaign.name})
            return redirect("backoffice:campaigns")
    valued = customers.filter(pl.col("clv").is_not_null())
    holdout = snapshot_table(snapshot, "clv_holdout")
    return render(
        request,
        "backoffice/lifetime.html",
        _context(
            snapshot,
            "lifetime",
            model=snapshot.summary.get("clv", {}),
            clv_chart=_chart(
                snapshot,
                "lifetime.clv_chart",
                lambda width: charts.histogram_chart(
                    valued["clv"],
                    title=_("How lifetime value is spread over members"),
                    label=_("Lifetime value over 26 weeks"),
                    money=True,
                    width=width,
                ),
            ),
            alive_chart=_chart(
                snapshot,
                "lifetime.alive_chart",
                lambda width: charts.histogram_chart(
                    valued["p_alive"],
                    title=_("How likely members are to still be customers"),
                    label=_("Probability the member is still a customer"),
                    money=False,
                    width=width,
                ),
            ),
            holdout_chart=_chart(
                snapshot,
                "lifetime.holdout_chart",
                lambda width: charts.predicted_vs_actual_chart(
                    holdout.to_dicts(),
                    title=_("Model check: repeat purchases, predicted and actual"),
                    period_label=_("Week"),
                    width=width,
                ),
            )
            if holdout.height
            else None,
            segment_form=segment_form,
            campaign_form=campaign_form,
            audience=None
            if audience is None
            else {
                "members": audience.height,
                "clv": audience["clv"].sum(),
                "query": request.GET.urlencode(),
            },
            top=[
                row | {"segment": SEGMENTS[row["segment"]][0]}
                for row in valued.sort("clv", descending=True).head(20).to_dicts()
            ],
        ),
    )


@analytics_required
@require_POST
def refresh(request: HttpRequest) -> HttpResponse:
    snapshot_request(actor=Actor.staff(request.user))
    return redirect(request.POST.get("next") or "backoffice:overview")


def _table_for_export(request: HttpRequest, snapshot: Snapshot, name: str) -> pl.DataFrame:
    """The table; customers narrowed to an audience by the SegmentForm's query, if any."""
    table = snapshot_table(snapshot, name)
    if name == "customers":
        legacy = request.GET.get("segment")  # the RFM page links one segment this way
        query = request.GET.copy()
        if legacy:
            query.setlist("segments", [legacy])
        form = SegmentForm(query)
        if form.is_valid():
            table = form.rule().apply(table)
    return table


@analytics_required
def export(request: HttpRequest, name: str, fmt: str) -> HttpResponse:
    """Any dashboard table as CSV, Parquet or JSON, from the latest ready snapshot: CSV for a
    person in the request's language, Parquet and JSON with the snapshot's names and values."""
    snapshot = snapshot_latest()
    if name not in TABLES or fmt not in EXPORT_FORMATS:
        return _json_error(404, "table_not_found", _("There is no table with this name."))
    if snapshot is None:
        return _json_error(404, "no_snapshot", _("The figures have not been computed yet."))
    table = _table_for_export(request, snapshot, name)
    if fmt == "json":
        return JsonResponse(
            {
                "snapshot": snapshot.pk,
                "as_of": snapshot.as_of.isoformat() if snapshot.as_of else None,
                "rows": json_safe(table.to_dicts()),
            },
            json_dumps_params={"ensure_ascii": False, "default": str},
        )
    if fmt == "csv":
        # For people: named columns, roubles, the language's decimal separator (see exports).
        response = HttpResponse(table_csv(table, name), content_type="text/csv; charset=utf-8")
    else:
        buffer = io.BytesIO()
        table.write_parquet(buffer)
        response = HttpResponse(buffer.getvalue(), content_type="application/vnd.apache.parquet")
    response["Content-Disposition"] = f'attachment; filename="kopilka-{name}-{snapshot.pk}.{fmt}"'
    return response


@analytics_required
def kpis_json(request: HttpRequest) -> HttpResponse:
    """KPIs for ?start=&end=[&store=][&segment=] as JSON; the period's last day included."""
    snapshot = snapshot_latest()
    if snapshot is None:
        return _json_error(404, "no_snapshot", _("The figures have not been computed yet."))
    stores = list(Store.objects.values_list("pk", "name"))
    form = ScopeForm(request.GET, stores=stores)
    if not form.is_valid():
        fields = {name: " ".join(map(str, errors)) for name, errors in form.errors.items()}
        return _json_error(400, "invalid_scope", _("Check the period, store and segment."), fields)
    segment = form.cleaned_data["segment"]
    scope = form.scope(segment_member_ids(snapshot, segment) if segment else None)
    body = {
        "snapshot": snapshot.pk,
        "start": scope.start.isoformat(),
        "end": scope.end.isoformat(),
        "kpis": scope_kpis(snapshot, scope),
    }
    return HttpResponse(
        json.dumps(json_safe(body), ensure_ascii=False), content_type="application/json"
    )


def _json_error(
    status: int, code: str, message: str, fields: dict[str, str] | None = None
) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": code, "message": message, "fields": fields or {}}},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )
