from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kopilka.analytics.kpi import Scope
from kopilka.analytics.labels import SEGMENTS
from kopilka.analytics.pipeline import KPI_WINDOW_DAYS
from kopilka.analytics.segments import SegmentRule

MAX_PERIOD_DAYS = 5 * 366
# A browser's date picker takes ISO dates only, whatever the page's language.
DATE_INPUT = forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})


class ScopeForm(forms.Form):
    """Which period, store and segment the KPIs are for; the period's last day is included."""

    start = forms.DateField(label=_("From"), widget=DATE_INPUT)
    end = forms.DateField(label=_("To"), widget=DATE_INPUT)
    store = forms.TypedChoiceField(label=_("Store"), required=False, coerce=int, empty_value=None)
    segment = forms.ChoiceField(label=_("Segment"), required=False)

    def __init__(self, *args: Any, stores: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].choices = [("", _("All stores")), *stores]  # type: ignore[attr-defined]
        self.fields["segment"].choices = [  # type: ignore[attr-defined]
            ("", _("All members and guests")),
            *((key, label) for key, (label, _advice) in SEGMENTS.items()),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", _("The period must end on or after its first day."))
            elif (end - start).days > MAX_PERIOD_DAYS:
                self.add_error("end", _("A period can be at most five years long."))
        return data

    def scope(self, member_ids: frozenset[int] | None) -> Scope:
        data = self.cleaned_data
        return Scope(
            start=data["start"],
            end=data["end"] + timedelta(days=1),
            store_id=data["store"],
            member_ids=member_ids,
        )


def default_period(as_of_day: date) -> dict[str, date]:
    """The snapshot's own KPI period (the whole days before its day), as the form shows it:
    the last day included."""
    return {
        "start": as_of_day - timedelta(days=KPI_WINDOW_DAYS),
        "end": as_of_day - timedelta(days=1),
    }


class SegmentForm(forms.Form):
    """An audience from RFM segments, P(alive) and lifetime value."""

    segments = forms.MultipleChoiceField(
        label=_("RFM segments"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(key, label) for key, (label, _advice) in SEGMENTS.items()],
    )
    p_alive_below = forms.DecimalField(
        label=_("P(alive) below"), required=False, min_value=0, max_value=1, decimal_places=2
    )
    clv_at_least = forms.DecimalField(
        label=_("Lifetime value at least, ₽"), required=False, min_value=0, decimal_places=2
    )

    def rule(self) -> SegmentRule:
        data = self.cleaned_data
        return SegmentRule(
            rfm_segments=tuple(data["segments"]),
            p_alive_below=None if data["p_alive_below"] is None else float(data["p_alive_below"]),
            clv_at_least=None if data["clv_at_least"] is None else int(data["clv_at_least"] * 100),
        )


class CampaignForm(forms.Form):
    """Launch a measured campaign for the audience of a SegmentForm."""

    name = forms.CharField(label=_("Campaign name"), max_length=200)
    key = forms.SlugField(
        label=_("Key"),
        max_length=64,
        help_text=_("Latin letters, digits and dashes; it seeds the control group."),
    )
    control_share = forms.DecimalField(
        label=_("Control group share"),
        initial=Decimal("0.10"),
        min_value=Decimal("0.01"),
        max_value=Decimal("0.5"),
        decimal_places=3,
    )
    starts_on = forms.DateField(label=_("Starts on"), widget=DATE_INPUT)
    ends_on = forms.DateField(label=_("Measure until"), widget=DATE_INPUT)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] <= data["starts_on"]:
            self.add_error("ends_on", _("The campaign must end after it starts."))
        return data


class MovementForm(forms.Form):
    """Two days to compare members' RFM segments between."""

    since = forms.DateField(label=_("From"), widget=DATE_INPUT)
    until = forms.DateField(label=_("To"), widget=DATE_INPUT)

    def __init__(self, *args: Any, last_day: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last_day = last_day

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if until and until > self.last_day:
            self.add_error("until", _("The figures go up to %(day)s.") % {"day": self.last_day})
        if since and until and since >= until:
            self.add_error("since", _("The first day must come before the second."))
        return data


class SimulationForm(forms.Form):
    """A draft program and the period to replay it over (default: the last 12 months)."""

    draft = forms.CharField(
        label=_("Draft program (JSON)"),
        widget=forms.Textarea(attrs={"rows": 16, "spellcheck": "false"}),
        help_text=_(
            "The program document, as program_show prints it; change what you want to try."
        ),
    )
    since = forms.DateField(label=_("From"), required=False, widget=DATE_INPUT)
    until = forms.DateField(label=_("Until (not included)"), required=False, widget=DATE_INPUT)

    def clean_draft(self) -> Any:
        import json

        try:
            document = json.loads(self.cleaned_data["draft"])
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                _("Not JSON: %(problem)s (line %(line)d).")
                % {"problem": exc.msg, "line": exc.lineno}
            ) from exc
        if not isinstance(document, dict):
            raise forms.ValidationError(_("The draft must be a JSON object."))
        return document
