"""The what-if pages: start a run of a draft program, watch it, read its result."""

import json
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.formats import number_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kopilka.analytics import charts
from kopilka.backoffice.forms import SimulationForm
from kopilka.backoffice.views import Chart, chart_pair
from kopilka.core.audit import Actor
from kopilka.core.errors import DomainError
from kopilka.program.engine.document import program_to_document
from kopilka.program.models import Simulation
from kopilka.program.selectors import program_in_force
from kopilka.program.services import simulation_request
from kopilka.program.simulation import ASSUMPTIONS
from kopilka.staff.roles import analytics_required

# The figures of each side, in the order the table shows them.
FIGURES = (
    ("revenue", _("Revenue, ₽")),
    ("points_issued", _("Points issued")),
    ("points_redeemed", _("Points redeemed")),
    ("discounts", _("Discounts, ₽")),
    ("rewards_cost", _("Rewards cost, ₽")),
    ("program_cost", _("Program cost, ₽")),
    ("program_cost_share_of_revenue", _("Program cost, share of revenue")),
    ("breakage_points", _("Points expired unused")),
)


def _shown(name: str, value: object) -> object:
    """A share as a percentage, in the page's language; the rest as the result has it."""
    if name == "program_cost_share_of_revenue" and isinstance(value, float):
        return f"{number_format(value * 100, 2)} %"
    return value


def _kopecks(rubles: str) -> int:
    return int(Decimal(rubles) * 100)


def _cost_chart(run_id: int, result: dict[str, Any]) -> Chart:
    """The program's cost per month, live against the draft."""
    months = result["months"]
    frame = pl.DataFrame(
        {
            "month": [date.fromisoformat(m["month"] + "-01") for m in months],
            "live": [_kopecks(m["live_cost"]) for m in months],
            "draft": [_kopecks(m["draft_cost"]) for m in months],
        },
        schema={"month": pl.Date, "live": pl.Int64, "draft": pl.Int64},
    )
    return chart_pair(
        f"simulation-{run_id}",
        "cost",
        lambda width: charts.kpi_trend_chart(
            frame,
            title=gettext("Program cost per month: live and draft, ₽"),
            series=[("live", gettext("Live")), ("draft", gettext("Draft"))],
            money=True,
            width=width,
        ),
    )


def _change_label(bar: dict[str, int]) -> str:
    low, high = (number_format(bar[end], force_grouping=True) for end in ("from", "to"))
    return low if bar["from"] == bar["to"] else f"{low} … {high}"


def _change_chart(run_id: int, result: dict[str, Any]) -> Chart:
    """How many members' points the draft changes by how much (most negative at the top)."""
    bars = result["change_distribution"]
    return chart_pair(
        f"simulation-{run_id}",
        "change",
        lambda width: charts.bar_chart(
            [_change_label(bar) for bar in bars],
            [bar["members"] for bar in bars],
            title=gettext("Members by the change of their points under the draft"),
            label=gettext("Members"),
            width=width,
        ),
    )


@analytics_required
def simulations(request: HttpRequest) -> HttpResponse:
    """The form (the program in force as the starting draft) and the latest runs."""
    if request.method == "POST":
        form = SimulationForm(request.POST)
        if form.is_valid():
            try:
                simulation = simulation_request(
                    draft=form.cleaned_data["draft"],
                    since=form.cleaned_data["since"],
                    until=form.cleaned_data["until"],
                    actor=Actor.staff(request.user),
                )
            except DomainError as exc:
                message, fields = exc.describe()
                form.add_error("draft", message)
                for field, problem in list(fields.items())[:20]:
                    form.add_error("draft", f"{field}: {problem}")
            else:
                return redirect("backoffice:simulation", simulation_id=simulation.pk)
    else:
        draft = json.dumps(program_to_document(program_in_force()), ensure_ascii=False, indent=2)
        form = SimulationForm(initial={"draft": draft})
    runs = Simulation.objects.all()[:10]
    return render(
        request,
        "backoffice/simulations.html",
        {"form": form, "runs": runs, "section": "simulations"},
    )


@analytics_required
def simulation(request: HttpRequest, simulation_id: int) -> HttpResponse:
    """One run: its progress while it runs (the page refreshes itself), then the comparison."""
    run = get_object_or_404(Simulation, pk=simulation_id)
    rows, tiers = [], []
    shown: dict[str, Any] = {}
    if run.result:
        if "months" in run.result:  # runs made before the charts have none
            shown = {
                "cost_chart": _cost_chart(run.pk, run.result),
                "change_chart": _change_chart(run.pk, run.result),
            }
        live, draft = run.result["live"], run.result["draft"]
        rows = [
            (label, _shown(name, live[name]), _shown(name, draft[name])) for name, label in FIGURES
        ]
        names = sorted(set(live["tiers"]) | set(draft["tiers"]))
        most = max([*live["tiers"].values(), *draft["tiers"].values(), 1])
        tiers = [
            (
                name,
                live["tiers"].get(name, 0),
                draft["tiers"].get(name, 0),
                round(100 * live["tiers"].get(name, 0) / most),
                round(100 * draft["tiers"].get(name, 0) / most),
            )
            for name in names
        ]
    return render(
        request,
        "backoffice/simulation.html",
        {
            "run": run,
            "rows": rows,
            "tiers": tiers,
            "percent": round(100 * run.progress),
            "assumptions": [str(line) for line in ASSUMPTIONS],
            "section": "simulations",
            **shown,
        },
    )
