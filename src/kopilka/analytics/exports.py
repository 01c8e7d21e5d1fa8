"""Dashboard tables as files: CSV for people, Parquet and JSON for programs.

Parquet and JSON keep the snapshot's column names and raw values (money in kopecks, shares
0…1, segment keys), so scripts can rely on them. CSV is what a café owner opens in Excel, in
the reader's language:

- column names a person reads, Russian by default and English with the English language;
- money in roubles with two decimals, shares in per cent (the column name says "%"), segments
  by their names, dates as YYYY-MM-DD, nothing at all for "no figure";
- the decimal separator of the language, "1234,50" in Russian and "1234.50" in English, and the
  delimiter that goes with it: ";" after a decimal comma (Excel's list separator wherever the
  comma is the decimal separator), "," otherwise;
- UTF-8 with a byte order mark, without which Excel reads Cyrillic as mojibake.
"""

from dataclasses import dataclass
from typing import Literal

import polars as pl
from django.utils.formats import get_format
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kopilka.analytics.labels import SEGMENTS

Kind = Literal["text", "date", "count", "money", "share", "number", "segment"]


@dataclass(frozen=True)
class Column:
    """How a person reads a column: its name, and what its values are (`money` in kopecks,
    `share` 0…1, `number` with `decimals`, `segment` an RFM segment key)."""

    label: Promise
    kind: Kind = "count"
    decimals: int = 2


_REVENUE = Column(_("Revenue, ₽"), "money")
_MEMBER_REVENUE = Column(_("Member revenue, ₽"), "money")
_RECEIPTS = Column(_("Receipts"))
_MEMBERS = Column(_("Members"))
_SEGMENT = Column(_("Segment"), "segment")
_REVENUE_12 = Column(_("Revenue in the last 12 months, ₽"), "money")

# Every column of every exported table (analytics.selectors.TABLES), in the table's order.
COLUMNS: dict[str, dict[str, Column]] = {
    "kpi_monthly": {
        "month": Column(_("Month"), "date"),
        "receipts": _RECEIPTS,
        "revenue": _REVENUE,
        "member_revenue": _MEMBER_REVENUE,
        "active_members": Column(_("Active members")),
        "avg_receipt_member": Column(_("Average receipt, members, ₽"), "money"),
        "avg_receipt_guest": Column(_("Average receipt, guests, ₽"), "money"),
        "points_earned_gross": Column(_("Points earned, before returns")),
        "points_redeemed_gross": Column(_("Points redeemed, before returns")),
        "member_revenue_share": Column(_("Share of revenue from members, %"), "share"),
    },
    "stores": {
        "store": Column(_("Store"), "text"),
        "store_id": Column(_("Store number")),
        "receipts": _RECEIPTS,
        "member_receipts": Column(_("Receipts with a card")),
        "revenue": _REVENUE,
        "member_revenue": _MEMBER_REVENUE,
        "redeem_receipts": Column(_("Member receipts paid partly with points")),
        "members_enrolled": Column(_("New members")),
        "member_receipt_share": Column(_("Share of receipts with a card, %"), "share"),
        "member_revenue_share": Column(_("Share of revenue from members, %"), "share"),
        "redeem_receipt_share": Column(
            _("Share of member receipts paid partly with points, %"), "share"
        ),
    },
    "staff": {
        "employee": Column(_("Employee"), "text"),
        "user_id": Column(_("Employee number")),
        "members_enrolled": Column(_("Members enrolled")),
        "members_returned": Column(_("Of them came back")),
        "return_rate": Column(_("Share who came back, %"), "share"),
    },
    "customers": {
        "member_id": Column(_("Member number")),
        "recency_days": Column(_("Days since last purchase")),
        "frequency": Column(_("Purchases in the last 12 months")),
        "monetary": Column(_("Spent in the last 12 months, ₽"), "money"),
        "r": Column(_("R score (recency), 1–5")),
        "f": Column(_("F score (frequency), 1–5")),
        "m": Column(_("M score (spend), 1–5")),
        "segment": _SEGMENT,
        "p_alive": Column(_("Probability the member is still a customer, %"), "share"),
        "expected_purchases": Column(_("Expected purchases, 26 weeks"), "number"),
        "expected_spend": Column(_("Expected spend per purchase, ₽"), "money"),
        "clv": Column(_("Lifetime value, 26 weeks, ₽"), "money"),
    },
    "clv_holdout": {
        "period": Column(_("Week")),
        "actual": Column(_("Repeat purchases, actual")),
        "predicted": Column(_("Repeat purchases, predicted"), "number"),
    },
    "rfm_segments": {
        "segment": _SEGMENT,
        "members": _MEMBERS,
        "revenue": _REVENUE_12,
        "avg_recency_days": Column(_("Days since last purchase, average"), "number", 1),
        "avg_frequency": Column(_("Purchases in the last 12 months, average"), "number"),
        "avg_monetary": Column(_("Spent in the last 12 months, average, ₽"), "money"),
        "member_share": Column(_("Share of members, %"), "share"),
        "revenue_share": Column(_("Share of revenue, %"), "share"),
    },
    "rfm_grid": {
        "r": Column(_("R score (recency), 1–5")),
        "f": Column(_("F score (frequency), 1–5")),
        "segment": _SEGMENT,
        "members": _MEMBERS,
        "revenue": _REVENUE_12,
    },
    "rfm_movement": {
        "from_segment": Column(_("From segment"), "segment"),
        "to_segment": Column(_("To segment"), "segment"),
        "members": _MEMBERS,
    },
    "cohorts": {
        "cohort": Column(_("Cohort: month of joining"), "date"),
        "month_index": Column(_("Months since joining")),
        "cohort_size": Column(_("Members in the cohort")),
        "active": Column(_("Of them bought that month")),
        "retention": Column(_("Retention, %"), "share"),
        "revenue": _REVENUE,
        "revenue_per_member": Column(_("Revenue per member, ₽"), "money"),
    },
}


def _fixed(scaled: pl.Expr, decimals: int, separator: str) -> pl.Expr:
    """`scaled` (the value times 10**decimals) rounded, written with exactly `decimals`
    decimals after `separator`: integer arithmetic, so 0.1 + 0.2 never shows as 0,30000000004."""
    finite = pl.when(scaled.is_finite()).then(scaled)  # NaN and infinities: no figure
    units = finite.round(0, mode="half_away_from_zero").cast(pl.Int64)
    magnitude = units.abs()
    sign = pl.when(units < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    whole = (magnitude // 10**decimals).cast(pl.String)
    if decimals == 0:
        return pl.concat_str(sign, whole)
    fraction = (magnitude % 10**decimals).cast(pl.String).str.zfill(decimals)
    return pl.concat_str(sign, whole, pl.lit(separator), fraction)


def _segment_names() -> dict[str, str]:
    names = {key: str(label) for key, (label, _advice) in SEGMENTS.items()}
    return names | {"none": str(_("no purchase yet"))}


def _readable(name: str, column: Column, dtype: pl.DataType, separator: str) -> pl.Expr:
    value = pl.col(name)
    if column.kind == "money":
        return _fixed(value.cast(pl.Float64), 2, separator)  # kopecks are roubles × 100
    if column.kind == "share":
        return _fixed(value.cast(pl.Float64) * 10**4, 2, separator)  # per cent, 2 decimals
    if column.kind == "number" or (column.kind == "count" and dtype.is_float()):
        return _fixed(value.cast(pl.Float64) * 10**column.decimals, column.decimals, separator)
    if column.kind == "segment":
        names = _segment_names()
        return value.replace_strict(names, default=value, return_dtype=pl.String)
    return value


def readable_table(table: pl.DataFrame, name: str, *, decimal_separator: str) -> pl.DataFrame:
    """`table` as a person reads it: named columns, roubles, per cent, segment names. A column
    without a description (a new one) keeps its name and its values."""
    columns = COLUMNS.get(name, {})
    exprs = []
    for column_name, dtype in table.schema.items():
        column = columns.get(column_name)
        if column is None:
            exprs.append(pl.col(column_name))
            continue
        readable = _readable(column_name, column, dtype, decimal_separator)
        exprs.append(readable.alias(str(column.label)))
    return table.select(exprs)


def table_csv(table: pl.DataFrame, name: str) -> bytes:
    """`table` as CSV in the active language (see the module's docstring)."""
    decimal_separator = str(get_format("DECIMAL_SEPARATOR"))
    delimiter = ";" if decimal_separator == "," else ","
    readable = readable_table(table, name, decimal_separator=decimal_separator)
    return ("\ufeff" + readable.write_csv(separator=delimiter)).encode()
