from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


class PointsAdjustForm(forms.Form):
    points = forms.IntegerField(
        label=_("Points"),
        help_text=_("Positive adds points, negative removes them."),
        min_value=-1_000_000,
        max_value=1_000_000,
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=500, help_text=_("The member may see it in the history.")
    )

    def clean_points(self) -> int:
        points = self.cleaned_data["points"]
        if points == 0:
            raise forms.ValidationError(_("An adjustment must change the balance."))
        return int(points)


class TierSetForm(forms.Form):
    tier = forms.ChoiceField(label=_("Tier"))
    until = forms.DateField(
        label=_("Holds through"),
        help_text=_("YYYY-MM-DD: the last day of the tier set by hand"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    note = forms.CharField(
        label=_("Why"), max_length=500, help_text=_("The member may see it in the history.")
    )

    def __init__(self, *args: Any, tiers: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tier = self.fields["tier"]
        assert isinstance(tier, forms.ChoiceField)
        tier.choices = [("", _("No tier")), *tiers]
