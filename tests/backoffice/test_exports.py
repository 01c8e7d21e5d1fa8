"""Exports: CSV for a person in their language, Parquet and JSON with the snapshot's own names."""

import io

import polars as pl
import pytest
from django.test import Client
from django.utils import translation

from kopilka.analytics.exports import COLUMNS
from kopilka.analytics.labels import SEGMENTS
from kopilka.analytics.models import Snapshot
from kopilka.analytics.selectors import TABLES, snapshot_table
from tests.backoffice.test_analytics_pages import figures, logged_in, staff  # noqa: F401

BOM = "\ufeff"


def csv_text(client: Client, name: str, language: str = "ru") -> str:
    response = client.get(
        f"/backoffice/analytics/data/{name}.csv", headers={"Accept-Language": language}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = response.content.decode("utf-8")
    assert text.startswith(BOM)  # Excel reads UTF-8 (Cyrillic names) only with it
    return text.removeprefix(BOM)


def csv_rows(client: Client, name: str, language: str = "ru") -> list[dict[str, str]]:
    separator = ";" if language == "ru" else ","
    table = pl.read_csv(
        io.StringIO(csv_text(client, name, language)),
        separator=separator,
        infer_schema=False,  # the cells as written
    )
    return [{k: v or "" for k, v in row.items()} for row in table.to_dicts()]


@pytest.mark.django_db
def test_csv_in_russian_has_named_columns_roubles_with_a_comma_and_semicolons(
    figures: Snapshot,  # noqa: F811
    logged_in: Client,  # noqa: F811
) -> None:
    # given February: six member receipts of 500 ₽; March (still in progress): a guest's 120 ₽
    text = csv_text(logged_in, "kpi_monthly")
    header, february, march = text.splitlines()
    # then a Russian Excel reads it as it is: ";" between cells, "," before the kopecks
    assert header == (
        "Месяц;Чеки;Выручка, ₽;Выручка участников, ₽;Активные участники;"
        "Средний чек участников, ₽;Средний чек гостей, ₽;Начислено баллов, до возвратов;"
        "Списано баллов, до возвратов;Доля выручки от участников, %"
    )
    assert february == "2026-02-01;6;3000,00;3000,00;3;500,00;;150;0;100,00"
    assert march == "2026-03-01;1;120,00;0,00;0;;120,00;0;0;0,00"


@pytest.mark.django_db
def test_csv_in_english_has_english_names_and_a_decimal_point(
    figures: Snapshot,  # noqa: F811
    logged_in: Client,  # noqa: F811
) -> None:
    rows = csv_rows(logged_in, "kpi_monthly", "en")
    assert list(rows[0]) == [
        "Month",
        "Receipts",
        "Revenue, ₽",
        "Member revenue, ₽",
        "Active members",
        "Average receipt, members, ₽",
        "Average receipt, guests, ₽",
        "Points earned, before returns",
        "Points redeemed, before returns",
        "Share of revenue from members, %",
    ]
    assert rows[0]["Revenue, ₽"] == "3000.00" and rows[1]["Average receipt, guests, ₽"] == "120.00"
    assert (
        csv_text(logged_in, "kpi_monthly", "en")
        .splitlines()[0]
        .startswith(
            'Month,Receipts,"Revenue, ₽"'  # a name with a comma is quoted, as CSV wants
        )
    )


@pytest.mark.django_db
def test_csv_shares_are_per_cent_and_segments_are_named(
    figures: Snapshot,  # noqa: F811
    logged_in: Client,  # noqa: F811
) -> None:
    # The store sold 3 000 ₽ to members of 3 120 ₽: 96.15 % (0.961538… in the snapshot).
    # (The members joined outside any store: their row has no store and no receipts.)
    (store,) = [row for row in csv_rows(logged_in, "stores") if row["Магазин"]]
    assert store["Магазин"] == "Центральный"
    assert store["Выручка, ₽"] == "3120,00"
    assert store["Доля выручки от участников, %"] == "96,15"
    (store_en,) = [row for row in csv_rows(logged_in, "stores", "en") if row["Store"]]
    assert store_en["Share of revenue from members, %"] == "96.15"
    # Segments by their names in the language; the snapshot's keys stay in JSON.
    keys = {row["segment"] for row in snapshot_table(figures, "customers").to_dicts()}
    shown_ru = {row["Сегмент"] for row in csv_rows(logged_in, "customers")}
    shown_en = {row["Segment"] for row in csv_rows(logged_in, "customers", "en")}
    for language, shown in (("ru", shown_ru), ("en", shown_en)):
        with translation.override(language):
            names = {str(SEGMENTS[key][0]) for key in keys}
        assert shown == names, language


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["ru", "en"])
def test_every_table_exports_a_named_column_for_each_of_its_columns(
    figures: Snapshot,  # noqa: F811
    logged_in: Client,  # noqa: F811
    language: str,
) -> None:
    for name in TABLES:
        table = snapshot_table(figures, name)
        assert list(COLUMNS[name]) == table.columns, name  # every column described, in order
        separator = ";" if language == "ru" else ","
        csv = pl.read_csv(
            io.StringIO(csv_text(logged_in, name, language)),
            separator=separator,
            infer_schema=False,
        )
        assert csv.height == table.height, name
        assert len(set(csv.columns)) == len(table.columns), name  # no two columns share a name
        assert not set(csv.columns) & set(table.columns), name  # no machine name leaks through


@pytest.mark.django_db
def test_parquet_and_json_keep_machine_names_and_raw_values(
    figures: Snapshot,  # noqa: F811
    logged_in: Client,  # noqa: F811
) -> None:
    for language in ("ru", "en"):
        headers = {"Accept-Language": language}
        parquet = pl.read_parquet(
            io.BytesIO(
                logged_in.get(
                    "/backoffice/analytics/data/kpi_monthly.parquet", headers=headers
                ).content
            )
        )
        data = logged_in.get("/backoffice/analytics/data/kpi_monthly.json", headers=headers).json()
        assert (
            parquet.columns
            == list(data["rows"][0])
            == snapshot_table(figures, "kpi_monthly").columns
        )
        assert parquet["revenue"].to_list() == [300000, 12000]  # kopecks, as stored
        assert [row["revenue"] for row in data["rows"]] == [300000, 12000]
        assert data["rows"][0]["member_revenue_share"] == 1.0  # a share 0…1, not per cent
        stores = logged_in.get("/backoffice/analytics/data/stores.json", headers=headers).json()
        (store,) = [row for row in stores["rows"] if row["store"]]
        assert 0.96 < store["member_revenue_share"] < 0.97
        customers = logged_in.get(
            "/backoffice/analytics/data/customers.json", headers=headers
        ).json()["rows"]
        keys = {row["segment"] for row in snapshot_table(figures, "customers").to_dicts()}
        assert {row["segment"] for row in customers} == keys
