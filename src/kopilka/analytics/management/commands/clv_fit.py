"""Fit BG/NBD and Gamma-Gamma CLV models to a CSV of transactions and print them as JSON."""

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kopilka.analytics.clv import (
    bgnbd_fit,
    gamma_gamma_fit,
    holdout_report,
    summary_from_transactions,
)
from kopilka.core.commands import option_date

REQUIRED_COLUMNS = ("customer_id", "date", "amount")
# Three parameters from a handful of customers would be fitted to noise.
MIN_REPEAT_CUSTOMERS = 10
# ISO date, optionally followed by a time and a UTC offset; the date part is taken as written.
ISO_DATE_OR_DATETIME = (
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$"
)


class Command(BaseCommand):
    help = (
        "Fit BG/NBD (purchases) and Gamma-Gamma (spend) models to a CSV with customer_id, date "
        "and amount columns; with --holdout-end, compare predicted and actual repeat purchases "
        "after --calibration-end. Prints JSON."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--transactions", required=True, type=Path, help="CSV file")
        parser.add_argument(
            "--calibration-end", help="YYYY-MM-DD, last day fitted (default: last date in file)"
        )
        parser.add_argument("--holdout-end", help="YYYY-MM-DD, last day of the holdout")
        parser.add_argument("--period", choices=["week", "day"], default="week")

    def handle(self, *args: Any, **options: Any) -> None:
        calibration_end = option_date(options["calibration_end"], "--calibration-end")
        holdout_end = option_date(options["holdout_end"], "--holdout-end")
        if holdout_end is not None:
            if calibration_end is None:
                raise CommandError(_("--holdout-end needs --calibration-end."))
            if holdout_end <= calibration_end:
                raise CommandError(_("--holdout-end must be after --calibration-end."))
        path: Path = options["transactions"]
        transactions = read_transactions(path)
        if transactions.is_empty():
            raise CommandError(_("%(path)s has no transactions.") % {"path": path})
        if calibration_end is None:
            last = transactions["date"].max()
            assert isinstance(last, date)
            calibration_end = last
        period = options["period"]
        summary = summary_from_transactions(
            transactions,
            calibration_end=calibration_end,
            observation_end=holdout_end,
            period=period,
        )
        if summary.is_empty():
            raise CommandError(
                _("%(path)s has no purchases on or before the calibration end %(date)s.")
                % {"path": path, "date": calibration_end.isoformat()}
            )
        repeat = summary.filter(pl.col("frequency") > 0, pl.col("monetary_value") > 0).height
        if repeat < MIN_REPEAT_CUSTOMERS:
            raise CommandError(
                ngettext(
                    "Only %(count)d customer bought again by %(date)s; the Gamma-Gamma model "
                    "needs at least %(minimum)d.",
                    "Only %(count)d customers bought again by %(date)s; the Gamma-Gamma model "
                    "needs at least %(minimum)d.",
                    repeat,
                )
                % {
                    "count": repeat,
                    "date": calibration_end.isoformat(),
                    "minimum": MIN_REPEAT_CUSTOMERS,
                }
            )
        bgnbd, log_likelihood = bgnbd_fit(summary["frequency"], summary["recency"], summary["T"])
        gg, _ll = gamma_gamma_fit(summary["frequency"], summary["monetary_value"])
        holdout = None
        if holdout_end is not None:
            holdout = holdout_report(
                summary,
                bgnbd,
                calibration_end=calibration_end,
                observation_end=holdout_end,
                period=period,
                transactions=transactions,
            )
        result = {
            "bgnbd": {
                "r": bgnbd.r,
                "alpha": bgnbd.alpha,
                "a": bgnbd.a,
                "b": bgnbd.b,
                "log_likelihood": log_likelihood,
            },
            "gamma_gamma": {"p": gg.p, "q": gg.q, "v": gg.v},
            "customers": summary.height,
            "holdout": holdout,
        }
        self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))


def read_transactions(path: Path) -> pl.DataFrame:
    """customer_id (str), date (pl.Date), amount (float) from a CSV with a header line, or a
    CommandError naming the first bad line (the header is line 1; blank lines are skipped but
    counted; a quoted value spanning lines would shift the count)."""
    if not path.is_file():
        raise CommandError(_("No transactions file at %(path)s.") % {"path": path})
    try:
        raw = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError) as exc:
        ragged = _first_ragged_line(path)
        if ragged is not None:
            line, fields, header = ragged
            raise CommandError(
                _("Line %(line)d of %(path)s has %(fields)d fields; the header has %(header)d.")
                % {"line": line, "path": path, "fields": fields, "header": header}
            ) from exc
        raise CommandError(
            _("Cannot read %(path)s as CSV: %(error)s") % {"path": path, "error": exc}
        ) from exc
    raw = raw.rename({name: name.strip() for name in raw.columns})
    missing = [name for name in REQUIRED_COLUMNS if name not in raw.columns]
    if missing:
        raise CommandError(
            ngettext(
                "Line 1 of %(path)s (the header) has no column %(columns)s.",
                "Line 1 of %(path)s (the header) has no columns %(columns)s.",
                len(missing),
            )
            % {"path": path, "columns": ", ".join(missing)}
        )
    rows = (
        raw.with_row_index("line", offset=2)
        .filter(~pl.all_horizontal(pl.exclude("line").is_null()))  # blank lines
        .select(
            "line",
            raw_date="date",
            raw_amount="amount",
            customer_id=pl.col("customer_id").str.strip_chars(),
            date=pl.when(pl.col("date").str.strip_chars().str.contains(ISO_DATE_OR_DATETIME))
            .then(pl.col("date").str.strip_chars().str.slice(0, 10))
            .str.to_date("%Y-%m-%d", strict=False),
            amount=pl.col("amount").str.strip_chars().cast(pl.Float64, strict=False),
        )
    )
    problem = (
        pl.when(pl.col("customer_id").is_null() | (pl.col("customer_id") == ""))
        .then(pl.lit("customer_id"))
        .when(pl.col("date").is_null())
        .then(pl.lit("date"))
        .when(pl.col("amount").is_null() | ~pl.col("amount").is_finite())
        .then(pl.lit("amount"))
        .when(pl.col("amount") < 0)
        .then(pl.lit("negative"))
    )
    bad = rows.filter(problem.is_not_null()).with_columns(problem=problem).head(1)
    if bad.height:
        row = bad.row(0, named=True)
        values = {"line": row["line"], "path": path}
        messages = {
            "customer_id": _("Line %(line)d of %(path)s: customer_id is empty."),
            "date": _("Line %(line)d of %(path)s: date “%(value)s” is not YYYY-MM-DD."),
            "amount": _("Line %(line)d of %(path)s: amount “%(value)s” is not a number."),
            "negative": _("Line %(line)d of %(path)s: amount %(value)s is negative."),
        }
        value = row["raw_date"] if row["problem"] == "date" else row["raw_amount"]
        raise CommandError(messages[row["problem"]] % {**values, "value": value or ""})
    return rows.select("customer_id", "date", "amount")


def _first_ragged_line(path: Path) -> tuple[int, int, int] | None:
    """(line, fields, header fields) of the first line with more fields than the header: polars
    refuses such a file without saying where (an unquoted decimal comma is the usual cause)."""
    with path.open(newline="", encoding="utf-8", errors="replace") as file:
        reader = csv.reader(file)
        header = len(next(reader, []))
        for row in reader:
            if len(row) > header:
                return reader.line_num, len(row), header
    return None
