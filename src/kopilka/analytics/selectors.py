"""Read analytics snapshots: the dashboard never touches the live tables, so it answers fast."""

from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import polars as pl
from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kopilka.analytics import kpi, rfm
from kopilka.analytics.frames import Frames
from kopilka.analytics.models import Snapshot
from kopilka.analytics.services import FACTS, snapshot_dir
from kopilka.analytics.uplift import uplift
from kopilka.campaigns.models import Campaign, CampaignMember
from kopilka.core import clock

# Tables anyone with staff access may export, with what each row is.
TABLES: dict[str, Promise] = {
    "kpi_monthly": _("program KPIs per month"),
    "stores": _("stores: enrolments and member share of sales, last 30 days"),
    "staff": _("employees: enrolments, last 30 days"),
    "customers": _("members: RFM scores, segment, P(alive) and lifetime value"),
    "clv_holdout": _("lifetime value model check: predicted and actual repeat purchases per week"),
    "rfm_segments": _("RFM segments: size and revenue"),
    "rfm_grid": _("RFM grid: members per R and F score"),
    "rfm_movement": _("RFM movement between two dates"),
    "cohorts": _("monthly cohorts: retention and revenue per member"),
}


def snapshot_latest() -> Snapshot | None:
    return Snapshot.objects.filter(status=Snapshot.Status.READY).order_by("-pk").first()


def snapshot_pending() -> Snapshot | None:
    return Snapshot.objects.pending().first()


def snapshot_is_stale(snapshot: Snapshot | None, *, now: datetime | None = None) -> bool:
    if snapshot is None or snapshot.as_of is None:
        return True
    age = (now or clock.now()) - snapshot.as_of
    return age > timedelta(minutes=settings.KOPILKA_ANALYTICS_MAX_AGE_MINUTES)


@lru_cache(maxsize=32)
def _read(folder: Path, name: str) -> pl.DataFrame:
    return pl.read_parquet(folder / f"{name}.parquet")


def snapshot_table(snapshot: Snapshot, name: str) -> pl.DataFrame:
    """One table of a ready snapshot (cached per process: snapshots never change). Caches are
    keyed by the snapshot's folder, which no other snapshot ever has."""
    if name not in TABLES and name not in FACTS:
        raise KeyError(name)
    return _read(snapshot_dir(snapshot.pk), name)


def snapshot_frames(snapshot: Snapshot) -> Frames:
    assert snapshot.as_of is not None
    return Frames(as_of=snapshot.as_of, **{name: snapshot_table(snapshot, name) for name in FACTS})


def segment_member_ids(snapshot: Snapshot, segment: str) -> frozenset[int]:
    customers = snapshot_table(snapshot, "customers")
    return frozenset(customers.filter(pl.col("segment") == segment)["member_id"].to_list())


def scope_kpis(snapshot: Snapshot, scope: kpi.Scope) -> dict[str, float | None]:
    """KPIs for any period, store and segment, computed from the snapshot's facts."""
    return kpi.program_kpis(
        snapshot_frames(snapshot), scope, gross_margin=settings.KOPILKA_GROSS_MARGIN
    )


@lru_cache(maxsize=16)
def _movement(folder: Path, since: date, until: date) -> pl.DataFrame:
    purchases = _read(folder, "purchases")
    return rfm.rfm_movement(
        rfm.rfm_scores(purchases, as_of=since), rfm.rfm_scores(purchases, as_of=until)
    )


def rfm_movement_between(snapshot: Snapshot, *, since: date, until: date) -> pl.DataFrame:
    """Members moving between RFM segments from the start of `since` to the start of `until`,
    scored from the snapshot's facts (the default 90 days are precomputed in `rfm_movement`)."""
    return _movement(snapshot_dir(snapshot.pk), since, until)


@lru_cache(maxsize=64)
def _uplift(folder: Path, campaign_id: int) -> dict[str, object]:
    campaign = Campaign.objects.get(pk=campaign_id)
    audience = pl.DataFrame(
        list(
            CampaignMember.objects.filter(campaign=campaign).values_list("member_id", "in_control")
        ),
        schema={"member_id": pl.Int64, "in_control": pl.Boolean},
        orient="row",
    )
    return uplift(
        _read(folder, "purchases"), audience, start=campaign.starts_on, end=campaign.ends_on
    )


def campaign_uplift(snapshot: Snapshot, campaign: Campaign) -> dict[str, object]:
    """Targeted against control over the campaign's window, from the snapshot's receipts (a
    campaign's audience never changes, so the figure is cached per snapshot)."""
    return _uplift(snapshot_dir(snapshot.pk), campaign.pk)
