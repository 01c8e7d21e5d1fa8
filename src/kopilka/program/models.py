from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class ProgramSettings(models.Model):
    """The program in force (one row). The full rules engine with versions comes later."""

    earn_rate_bp = models.PositiveIntegerField(
        _("earn rate, basis points"),
        default=500,
        validators=[MaxValueValidator(10000)],
        # xgettext:no-python-format
        help_text=_("500 = 5% of the money paid comes back as points"),
    )
    max_redeem_share_bp = models.PositiveIntegerField(
        _("share of a receipt payable with points, basis points"),
        default=3000,
        validators=[MaxValueValidator(10000)],
    )
    pending_days = models.PositiveIntegerField(
        _("pending days"), default=0, validators=[MaxValueValidator(365)]
    )
    expiry_days = models.PositiveIntegerField(
        _("points valid, days"),
        default=365,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("program settings")
        verbose_name_plural = _("program settings")

    def __str__(self) -> str:
        return str(_("Program settings"))
