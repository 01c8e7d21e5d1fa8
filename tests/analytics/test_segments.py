import polars as pl
from django.utils import translation

from kopilka.analytics.segments import SegmentRule
from kopilka.backoffice.templatetags.figures import money, percent

CUSTOMERS = pl.DataFrame(
    {
        "member_id": [1, 2, 3, 4],
        "segment": ["at_risk", "at_risk", "champions", "cant_lose"],
        "p_alive": [0.3, 0.7, 0.99, None],
        "clv": [500_000.0, 900_000.0, 2_000_000.0, None],
    }
)


def test_a_rule_keeps_members_matching_every_condition() -> None:
    rule = SegmentRule(
        rfm_segments=("at_risk", "cant_lose"), p_alive_below=0.5, clv_at_least=300_000
    )
    assert rule.apply(CUSTOMERS)["member_id"].to_list() == [1]
    assert SegmentRule(rfm_segments=("at_risk",)).apply(CUSTOMERS)["member_id"].to_list() == [1, 2]
    # Members the models could not value never match a condition on value.
    assert SegmentRule(clv_at_least=0).apply(CUSTOMERS)["member_id"].to_list() == [1, 2, 3]
    assert SegmentRule().apply(CUSTOMERS).height == 4


def test_figures_without_a_value_read_as_a_dash() -> None:
    assert money(float("nan")) == percent(None) == "—"
    with translation.override("ru"):
        assert money(123456) == "1\xa0235 ₽"
        assert percent(0.4567) == "45,7 %"
    with translation.override("en"):
        assert money(123456) == "1,235 ₽"


def test_every_rfm_segment_has_a_label_and_advice() -> None:
    from kopilka.analytics import labels, rfm

    assert list(labels.SEGMENTS) == list(rfm.SEGMENTS)
