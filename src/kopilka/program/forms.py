"""The program settings as an owner reads them: percent, not the engine's basis points."""

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kopilka.program.models import ProgramSettings

BP_PER_PERCENT = 100


def percent_from_bp(bp: int) -> Decimal:
    """500 -> Decimal("5"), 1250 -> Decimal("12.5"): as the owner types it."""
    return (Decimal(bp) / BP_PER_PERCENT).normalize() + 0


def bp_from_percent(percent: Decimal) -> int:
    return int(percent * BP_PER_PERCENT)


def _percent_field(label: Any, help_text: Any) -> forms.DecimalField:
    # two decimals of a percent are exactly one basis point, so nothing is rounded
    return forms.DecimalField(
        label=label,
        help_text=help_text,
        min_value=Decimal(0),
        max_value=Decimal(100),
        max_digits=5,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01"}),
    )


class ProgramSettingsForm(forms.ModelForm):
    earn_rate_percent = _percent_field(
        # xgettext:no-python-format
        _("Points earned, % of the money paid"),
        _("5 means a purchase of 1,000 ₽ paid in money earns 50 points (1 point = 1 ₽)."),
    )
    max_redeem_share_percent = _percent_field(
        # xgettext:no-python-format
        _("Share of a receipt payable with points, %"),
        _("30 means points can pay for at most 300 ₽ of a 1,000 ₽ receipt."),
    )

    class Meta:
        model = ProgramSettings
        fields = ["pending_days", "expiry_days"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["earn_rate_percent"].initial = percent_from_bp(self.instance.earn_rate_bp)
        self.fields["max_redeem_share_percent"].initial = percent_from_bp(
            self.instance.max_redeem_share_bp
        )
        self.order_fields(["earn_rate_percent", "max_redeem_share_percent"])

    def settings_values(self) -> dict[str, int]:
        """The cleaned form as program_settings_update takes it."""
        data = self.cleaned_data
        return {
            "earn_rate_bp": bp_from_percent(data["earn_rate_percent"]),
            "max_redeem_share_bp": bp_from_percent(data["max_redeem_share_percent"]),
            "pending_days": data["pending_days"],
            "expiry_days": data["expiry_days"],
        }
