"""CLV models: likelihoods against plain formulas and published figures, parameter recovery from
simulated customers, the summary's day conventions, the holdout check and the clv_fit command."""

import itertools
import json
import math
from dataclasses import astuple
from datetime import date, timedelta
from io import StringIO
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from kopilka.analytics.clv import (
    BgNbdParams,
    GammaGammaParams,
    bgnbd_expected_purchases,
    bgnbd_expected_purchases_new,
    bgnbd_fit,
    bgnbd_log_likelihood,
    bgnbd_p_alive,
    clv,
    gamma_gamma_expected_spend,
    gamma_gamma_fit,
    gamma_gamma_log_likelihood,
    holdout_report,
    simulate_bgnbd,
    simulate_gamma_gamma,
    summary_from_transactions,
)

CDNOW = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)  # [FHL05] table/figures, weeks


def simulate_transactions(
    params: BgNbdParams,
    gg: GammaGammaParams,
    n: int,
    rng: np.random.Generator,
    *,
    start: date,
    acquisition_days: int,
    total_days: int,
) -> pl.DataFrame:
    """Dated purchases of n customers acquired on a random day of the first `acquisition_days`
    and followed to start + total_days, by the BG/NBD story in days (params in weeks)."""
    first = rng.integers(0, acquisition_days, n)
    rate = rng.gamma(params.r, 1 / params.alpha, n) / 7
    window = total_days - first
    events = rng.poisson(rate * window)
    kept = np.minimum(events, rng.geometric(rng.beta(params.a, params.b, n)))
    customer = np.repeat(np.arange(n), events)
    offset = rng.random(customer.size) * window[customer]
    order = np.lexsort((offset, customer))
    customer, offset = customer[order], offset[order]
    rank = np.arange(customer.size) - np.repeat(np.cumsum(events) - events, events)
    repeat = rank < kept[customer]
    customer = np.concatenate([np.arange(n), customer[repeat]])
    day = np.concatenate([first, first[customer[n:]] + np.ceil(offset[repeat]).astype(np.int64)])
    nu = rng.gamma(gg.q, 1 / gg.v, n)
    return pl.DataFrame(
        {
            "customer_id": customer,
            "date": np.datetime64(start, "D") + day,
            "amount": rng.gamma(gg.p, 1 / nu[customer]),
        }
    )


# --- Likelihoods against plain formulas and published figures ---------------------------------


def naive_bgnbd_ll(params: BgNbdParams, x: int, tx: float, T: float) -> float:
    """[FHL05] eq. (6) as printed, term by term."""
    r, alpha, a, b = astuple(params)

    def beta(p: float, q: float) -> float:
        return math.exp(math.lgamma(p) + math.lgamma(q) - math.lgamma(p + q))

    gamma_part = math.exp(math.lgamma(r + x) - math.lgamma(r)) * alpha**r
    likelihood = beta(a, b + x) / beta(a, b) * gamma_part / (alpha + T) ** (r + x)
    if x > 0:
        likelihood += beta(a + 1, b + x - 1) / beta(a, b) * gamma_part / (alpha + tx) ** (r + x)
    return math.log(likelihood)


def naive_gamma_gamma_ll(params: GammaGammaParams, x: int, m: float) -> float:
    p, q, v = astuple(params)
    return (
        math.lgamma(p * x + q)
        - math.lgamma(p * x)
        - math.lgamma(q)
        + q * math.log(v)
        + (p * x - 1) * math.log(m)
        + p * x * math.log(x)
        - (p * x + q) * math.log(v + m * x)
    )


def test_bgnbd_log_likelihood_equals_the_formula_as_printed() -> None:
    # given 300 simulated customers and parameters away from the ones that made them
    rng = np.random.default_rng(7)
    x, tx, T = simulate_bgnbd(CDNOW, 300, rng.uniform(1, 60, 300), rng)
    params = BgNbdParams(r=0.4, alpha=3.0, a=1.3, b=4.0)
    # then the vectorised log-sum-exp form equals eq. (6) computed customer by customer
    expected = [naive_bgnbd_ll(params, int(a), b, c) for a, b, c in zip(x, tx, T, strict=True)]
    np.testing.assert_allclose(bgnbd_log_likelihood(params, x, tx, T), expected, rtol=1e-10)


def test_bgnbd_log_likelihood_stays_finite_for_frequent_buyers() -> None:
    # (α+T)^(r+x) overflows for x = 200 in the printed form; reference values computed by
    # pymc-marketing's test of Fader & Hardie's note on the #NUM! error (notes/027)
    ll = bgnbd_log_likelihood(BgNbdParams(0.25, 4.0, 0.8, 2.5), [0, 200], [0, 38], [40, 40])
    np.testing.assert_allclose(ll, [-0.59947382, 100.7957], rtol=1e-6)


def test_gamma_gamma_log_likelihood_equals_the_formula() -> None:
    rng = np.random.default_rng(8)
    x = rng.integers(1, 30, 200)
    m = simulate_gamma_gamma(GammaGammaParams(6, 4, 15), x, rng)
    params = GammaGammaParams(p=3.0, q=2.5, v=20.0)
    expected = [naive_gamma_gamma_ll(params, int(xi), mi) for xi, mi in zip(x, m, strict=True)]
    np.testing.assert_allclose(gamma_gamma_log_likelihood(params, x, m), expected, rtol=1e-10)


def test_expectations_match_the_published_cdnow_figures() -> None:
    # Fader & Hardie's BG/NBD spreadsheet (notes/004) at the CDNOW estimates: customer 1 of the
    # sample (x = 2, t_x = 30.43, T = 38.86) makes 1.226 purchases in the next 39 weeks
    assert bgnbd_expected_purchases(CDNOW, 39, 2, 30.43, 38.86) == pytest.approx(1.226, abs=5e-4)
    # E[X(t)] for a new customer; the published parameters are rounded to three decimals,
    # which moves E[X(78)] by about 0.2%
    t = [0.1429, 1.0, 3.0, 31.8571, 32.0, 78.0]
    published = [0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576]
    np.testing.assert_allclose(
        bgnbd_expected_purchases_new(CDNOW, t), published, rtol=2.5e-3, atol=5e-5
    )


def test_expected_purchases_of_frequent_buyers_agree_with_numeric_integration() -> None:
    # scipy's hyp2f1 overflows for r + x in the hundreds; the fallback integrates eq. (10)'s
    # bracket. Check the whole result against scipy.integrate.quad on the posterior of p.
    from scipy.integrate import quad
    from scipy.stats import beta

    params = BgNbdParams(0.25, 4.0, 0.8, 2.5)
    for x, T, t in [(300, 5.0, 39.0), (1000, 52.0, 104.0), (2, 38.86, 39.0)]:
        u, k = t / (params.alpha + T), params.r + x
        posterior = beta(params.a, params.b + x)
        mean, _err = quad(
            lambda p, u=u, k=k, posterior=posterior: (1 - (1 + p * u) ** -k) / p * posterior.pdf(p),
            0,
            1,
            points=[params.a / (params.b + x)],
            limit=500,
        )
        expected = mean * bgnbd_p_alive(params, x, T, T)
        assert bgnbd_expected_purchases(params, t, x, T, T) == pytest.approx(expected, rel=1e-6)


# --- Model properties --------------------------------------------------------------------------


def test_p_alive_properties() -> None:
    # a customer who never bought again is alive for sure (BG/NBD: dropout only after a purchase)
    assert np.all(bgnbd_p_alive(CDNOW, 0, 0, [0.0, 10.0, 100.0]) == 1.0)
    # in [0, 1], and falls as time passes since the last purchase
    T = np.arange(5.0, 200.0, 5.0)
    p_alive = bgnbd_p_alive(CDNOW, 3, 5.0, T)
    assert np.all((p_alive >= 0) & (p_alive <= 1))
    assert np.all(np.diff(p_alive) < 0)
    # the value itself, [FHL08]: 1 / (1 + a/(b+x-1) ((α+T)/(α+t_x))^(r+x))
    r, alpha, a, b = astuple(CDNOW)
    odds = a / (b + 3 - 1) * ((alpha + 40) / (alpha + 5)) ** (r + 3)
    assert bgnbd_p_alive(CDNOW, 3, 5.0, 40.0) == pytest.approx(1 / (1 + odds), rel=1e-12)
    grid = bgnbd_p_alive(CDNOW, *np.meshgrid(np.arange(0, 60), np.arange(0, 60), 60.0))
    assert np.all((grid >= 0) & (grid <= 1))


def test_expected_purchases_grow_with_the_horizon() -> None:
    t = np.arange(0.0, 105.0, 1.0)
    for x, tx, T in [(0, 0.0, 10.0), (4, 30.0, 39.0), (400, 50.0, 52.0)]:
        expected = bgnbd_expected_purchases(CDNOW, t, x, tx, T)
        assert expected[0] == 0.0
        assert np.all(np.diff(expected) > 0)
    assert np.all(np.diff(bgnbd_expected_purchases_new(CDNOW, t)) > 0)


def test_expected_purchases_new_matches_simulated_customers() -> None:
    # E[X(t)] is the mean frequency of customers observed for t periods
    rng = np.random.default_rng(11)
    x, _tx, _T = simulate_bgnbd(CDNOW, 200_000, 39.0, rng)
    assert x.mean() == pytest.approx(float(bgnbd_expected_purchases_new(CDNOW, 39.0)), rel=0.02)


def test_clv_is_purchases_times_spend_and_discounting_lowers_it() -> None:
    gg = GammaGammaParams(6.0, 4.0, 15.0)
    x, tx, T, m = np.array([0, 3, 10]), np.array([0, 20, 50]), np.full(3, 52.0), [0, 40, 25]
    undiscounted = clv(CDNOW, gg, x, tx, T, m, horizon_periods=52)
    expected = bgnbd_expected_purchases(CDNOW, 52, x, tx, T) * gamma_gamma_expected_spend(gg, x, m)
    np.testing.assert_allclose(undiscounted, expected)
    discounted = clv(CDNOW, gg, x, tx, T, m, horizon_periods=52, discount_rate_per_period=0.002)
    assert np.all(discounted < undiscounted)
    assert np.all(discounted > undiscounted / 1.002**52)


# --- Parameter recovery ------------------------------------------------------------------------
# Over 40 seeds at 40,000 customers the relative errors had standard deviations of about
# r 1%, alpha 2%, a 3.5%, b 4.5% (BG/NBD) and p 3%, q 1.5%, v 4.5% (Gamma-Gamma); the tolerances
# are ~3.5 of those.
BGNBD_TOLERANCE = {"r": 0.05, "alpha": 0.08, "a": 0.12, "b": 0.15}


@pytest.mark.parametrize(
    ("true", "weeks"),
    [
        (BgNbdParams(r=0.25, alpha=4.0, a=0.8, b=2.5), (26, 104)),
        (BgNbdParams(r=0.6, alpha=8.0, a=0.5, b=1.5), (13, 104)),
    ],
)
def test_bgnbd_fit_recovers_the_parameters(true: BgNbdParams, weeks: tuple[int, int]) -> None:
    # given 40,000 customers acquired on random days between `weeks` weeks ago
    rng = np.random.default_rng(20240)
    T = rng.integers(weeks[0] * 7, weeks[1] * 7 + 1, 40_000) / 7
    x, tx, T = simulate_bgnbd(true, 40_000, T, rng)
    # when the model is fitted
    fitted, log_likelihood = bgnbd_fit(x, tx, T)
    # then each parameter is within its tolerance and the likelihood is the one reported
    for name, tolerance in BGNBD_TOLERANCE.items():
        assert getattr(fitted, name) == pytest.approx(getattr(true, name), rel=tolerance), name
    tx = np.round(tx * 7) / 7  # the fit rounds recency to the day
    assert log_likelihood == pytest.approx(bgnbd_log_likelihood(fitted, x, tx, T).sum())
    assert log_likelihood > bgnbd_log_likelihood(true, x, tx, T).sum()


def test_gamma_gamma_fit_recovers_the_parameters() -> None:
    rng = np.random.default_rng(20241)
    x, _tx, _T = simulate_bgnbd(BgNbdParams(0.6, 8.0, 0.5, 1.5), 40_000, 52.0, rng)
    m = simulate_gamma_gamma(GammaGammaParams(p=6.0, q=4.0, v=15.0), x, rng)
    fitted, log_likelihood = gamma_gamma_fit(x, m)
    assert fitted.p == pytest.approx(6.0, rel=0.12)
    assert fitted.q == pytest.approx(4.0, rel=0.06)
    assert fitted.v == pytest.approx(15.0, rel=0.15)
    assert log_likelihood == pytest.approx(gamma_gamma_log_likelihood(fitted, x, m).sum())
    # the conditional expectation lies between the customer's own mean and the population mean
    population = fitted.p * fitted.v / (fitted.q - 1)
    spend = gamma_gamma_expected_spend(fitted, [0, 5, 5], [0.0, 10.0, 90.0])
    assert spend[0] == pytest.approx(population)
    assert 10.0 < spend[1] < population < spend[2] < 90.0


# --- Summary -----------------------------------------------------------------------------------


def hand_made_transactions() -> pl.DataFrame:
    rows = [
        # A: three purchase days in calibration (two of them with two receipts), two in holdout
        ("A", "2024-01-01", 100.0),
        ("A", "2024-01-01", 50.0),
        ("A", "2024-01-08", 30.0),
        ("A", "2024-01-15", 20.0),
        ("A", "2024-01-15", 10.0),
        ("A", "2024-02-05", 40.0),
        ("A", "2024-02-05", 5.0),
        ("A", "2024-02-29", 7.0),
        # B: one purchase, on the calibration end itself
        ("B", "2024-01-31", 99.0),
        # C: first seen after the calibration end: not in the summary
        ("C", "2024-02-10", 12.0),
        # D: one repeat purchase, nothing in the holdout
        ("D", "2024-01-10", 10.0),
        ("D", "2024-01-30", 20.0),
    ]
    return pl.DataFrame(
        rows,
        schema={"customer_id": pl.String, "date": pl.String, "amount": pl.Float64},
        orient="row",
    ).with_columns(pl.col("date").str.to_date())


def test_summary_counts_purchase_days_and_measures_from_the_first_one() -> None:
    summary = summary_from_transactions(
        hand_made_transactions(),
        calibration_end=date(2024, 1, 31),
        observation_end=date(2024, 2, 29),
        period="week",
    )
    assert summary.to_dicts() == [
        pytest.approx(row)
        for row in [
            {
                "customer_id": "A",
                "frequency": 2,
                "recency": 14 / 7,
                "T": 30 / 7,
                "monetary_value": 30.0,  # (30 + 30) / 2: the first day's 150 is left out
                "holdout_purchases": 2,
                "holdout_duration": 29 / 7,
            },
            {
                "customer_id": "B",
                "frequency": 0,
                "recency": 0.0,
                "T": 0.0,
                "monetary_value": 0.0,
                "holdout_purchases": 0,
                "holdout_duration": 29 / 7,
            },
            {
                "customer_id": "D",
                "frequency": 1,
                "recency": 20 / 7,
                "T": 3.0,
                "monetary_value": 20.0,
                "holdout_purchases": 0,
                "holdout_duration": 29 / 7,
            },
        ]
    ]


def test_summary_in_days_without_holdout() -> None:
    summary = summary_from_transactions(
        hand_made_transactions(), calibration_end=date(2024, 1, 15), period="day"
    )
    assert summary.columns == ["customer_id", "frequency", "recency", "T", "monetary_value"]
    assert summary.rows() == [("A", 2, 14.0, 14.0, 30.0), ("D", 0, 0.0, 5.0, 0.0)]


# --- Holdout -----------------------------------------------------------------------------------

START = date(2023, 1, 2)
CALIBRATION_END = START + timedelta(days=364)
HOLDOUT_END = CALIBRATION_END + timedelta(days=182)


def test_holdout_prediction_is_within_ten_percent_of_actual() -> None:
    # given 5,000 customers acquired in the first half year, followed for 78 weeks
    rng = np.random.default_rng(2024)
    transactions = simulate_transactions(
        BgNbdParams(0.5, 3.0, 0.7, 3.0),
        GammaGammaParams(6.0, 4.0, 15.0),
        5_000,
        rng,
        start=START,
        acquisition_days=182,
        total_days=364 + 182,
    )
    summary = summary_from_transactions(
        transactions, calibration_end=CALIBRATION_END, observation_end=HOLDOUT_END, period="week"
    )
    # when the model fitted on the first 52 weeks predicts the next 26
    params, _ll = bgnbd_fit(summary["frequency"], summary["recency"], summary["T"])
    report = holdout_report(
        summary,
        params,
        calibration_end=CALIBRATION_END,
        observation_end=HOLDOUT_END,
        period="week",
        transactions=transactions,
    )
    # then the total is within 10% and the weekly figures add up
    actual, predicted = report["actual_repeat_purchases"], report["predicted_repeat_purchases"]
    assert actual == summary["holdout_purchases"].sum() > 4_000
    assert predicted == pytest.approx(actual, rel=0.10)
    weeks = report["per_period"]
    assert [week["period"] for week in weeks] == list(range(1, 27))
    assert sum(week["actual"] for week in weeks) == actual
    assert sum(week["predicted"] for week in weeks) == pytest.approx(predicted)
    # customers already acquired buy less and less as some drop out
    assert all(w1["predicted"] > w2["predicted"] for w1, w2 in itertools.pairwise(weeks))
    json.dumps(report)


def test_holdout_periods_in_days_and_a_short_last_week() -> None:
    transactions = hand_made_transactions()
    dates = {"calibration_end": date(2024, 1, 31), "observation_end": date(2024, 2, 29)}
    daily = holdout_report(
        summary_from_transactions(transactions, **dates, period="day"),
        BgNbdParams(CDNOW.r, CDNOW.alpha * 7, CDNOW.a, CDNOW.b),  # the same rate, per day
        **dates,
        period="day",
        transactions=transactions,
    )
    assert len(daily["per_period"]) == 29
    assert [d["period"] for d in daily["per_period"] if d["actual"]] == [5, 29]  # 5 and 29 Feb
    weekly = holdout_report(
        summary_from_transactions(transactions, **dates, period="week"),
        CDNOW,
        **dates,
        period="week",
        transactions=transactions,
    )
    # 29 days: four weeks and one day; C's purchase is not counted (first seen in the holdout)
    assert [w["actual"] for w in weekly["per_period"]] == [1, 0, 0, 0, 1]
    assert weekly["per_period"][4]["predicted"] < weekly["per_period"][3]["predicted"] / 5
    assert weekly["predicted_repeat_purchases"] == pytest.approx(
        daily["predicted_repeat_purchases"]
    )


# --- clv_fit command -----------------------------------------------------------------------------


def run_clv_fit(*args: str) -> str:
    out = StringIO()
    with translation.override("en"):
        call_command("clv_fit", *args, stdout=out)
    return out.getvalue()


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "transactions.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def simulated_csv(tmp_path_factory: pytest.TempPathFactory) -> str:
    transactions = simulate_transactions(
        BgNbdParams(0.5, 3.0, 0.7, 3.0),
        GammaGammaParams(6.0, 4.0, 15.0),
        1_000,
        np.random.default_rng(5),
        start=START,
        acquisition_days=182,
        total_days=364 + 182,
    )
    path = tmp_path_factory.mktemp("clv") / "transactions.csv"
    # extra columns in another order, and datetimes instead of dates for some rows
    transactions.select(
        store=pl.lit("Тверская"),
        amount=pl.col("amount").round(2),
        date=pl.when(pl.col("customer_id") % 2 == 0)
        .then(pl.col("date").cast(pl.String) + "T12:30:00+03:00")
        .otherwise(pl.col("date").cast(pl.String)),
        customer_id=pl.format("card-{}", "customer_id"),
    ).write_csv(path)
    return str(path)


def test_clv_fit_prints_the_parameters_and_the_holdout(simulated_csv: str) -> None:
    output = json.loads(
        run_clv_fit(
            "--transactions",
            simulated_csv,
            "--calibration-end",
            CALIBRATION_END.isoformat(),
            "--holdout-end",
            HOLDOUT_END.isoformat(),
        )
    )
    assert set(output) == {"bgnbd", "gamma_gamma", "customers", "holdout"}
    assert set(output["bgnbd"]) == {"r", "alpha", "a", "b", "log_likelihood"}
    assert set(output["gamma_gamma"]) == {"p", "q", "v"}
    assert output["customers"] == 1_000
    holdout = output["holdout"]
    assert set(holdout) == {"actual_repeat_purchases", "predicted_repeat_purchases", "per_period"}
    assert len(holdout["per_period"]) == 26
    assert set(holdout["per_period"][0]) == {"period", "actual", "predicted"}
    assert holdout["predicted_repeat_purchases"] == pytest.approx(
        holdout["actual_repeat_purchases"], rel=0.25
    )


def test_clv_fit_without_holdout_fits_up_to_the_last_date(simulated_csv: str) -> None:
    output = json.loads(run_clv_fit("--transactions", simulated_csv, "--period", "day"))
    assert output["holdout"] is None
    assert output["customers"] == 1_000
    assert output["bgnbd"]["alpha"] > 1  # in days now


HEADER = "customer_id,date,amount\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("customer_id,day,amount\n1,2024-01-01,10\n", r"Line 1 .* has no column date\."),
        ("amount,id\n10,1\n", r"Line 1 .* has no columns customer_id, date\."),
        (HEADER + "1,2024-01-01,10\n\n2,2024-13-01,5\n", r"Line 4 .*date “2024-13-01”"),
        (HEADER + "1,2024-01-01,10\n2,01.02.2024,5\n", r"Line 3 .*date “01.02.2024”"),
        (HEADER + "1,2024-01-01,10\n2,2024-01-02,abc\n", r"Line 3 .*amount “abc” is not a number"),
        (HEADER + "1,2024-01-01,10\n2,2024-01-02,\n", r"Line 3 .*amount “” is not a number"),
        (HEADER + "1,2024-01-01,10\n2,2024-01-02,-5\n", r"Line 3 .*amount -5 is negative"),
        (HEADER + "1,2024-01-01,10\n ,2024-01-02,5\n", r"Line 3 .*customer_id is empty"),
        (
            HEADER + "1,2024-01-01,10\n2,2024-01-02,10,50\n",
            r"Line 3 .* has 4 fields; the header has 3",
        ),
        (HEADER, r"has no transactions"),
    ],
)
def test_clv_fit_names_the_bad_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run_clv_fit("--transactions", write(tmp_path, text))


def test_clv_fit_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"No transactions file at .*nope\.csv"):
        run_clv_fit("--transactions", str(tmp_path / "nope.csv"))


def test_clv_fit_needs_purchases_before_the_calibration_end(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "1,2024-03-01,10\n")
    with pytest.raises(
        CommandError, match=r"no purchases on or before the calibration end 2024-02-01"
    ):
        run_clv_fit("--transactions", path, "--calibration-end", "2024-02-01")


def test_clv_fit_needs_enough_repeat_customers(tmp_path: Path) -> None:
    rows = [f"{c},2024-01-0{d},10" for c in range(9) for d in (1, 2)] + ["9,2024-01-01,10"]
    path = write(tmp_path, HEADER + "\n".join(rows) + "\n")
    with pytest.raises(CommandError, match=r"Only 9 customers bought again .* at least 10"):
        run_clv_fit("--transactions", path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--holdout-end", "2024-03-01"], "--holdout-end needs --calibration-end"),
        (["--calibration-end", "2024-03-01", "--holdout-end", "2024-03-01"], "must be after"),
        (["--calibration-end", "1 March"], "--calibration-end must be a date as YYYY-MM-DD"),
    ],
)
def test_clv_fit_checks_the_dates(tmp_path: Path, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run_clv_fit("--transactions", write(tmp_path, HEADER + "1,2024-01-01,10\n"), *args)
