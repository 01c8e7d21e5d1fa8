"""A campaign and its audience, each member in the target or the persistent control group."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Campaign(models.Model):
    """A marketing campaign measured against its own persistent random control group."""

    key = models.SlugField(
        _("key"),
        max_length=64,
        unique=True,
        help_text=_("Seeds the control group: changing it reshuffles who is held out."),
    )
    name = models.CharField(_("name"), max_length=200)
    control_share = models.DecimalField(
        _("control group share"), max_digits=4, decimal_places=3, default=0.1
    )
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("measured until"), help_text=_("Exclusive."))
    created_at = models.DateTimeField(_("created"))

    class Meta:
        db_table = "analytics_campaign"  # moved from analytics with its rows
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        constraints = [
            # 0: a message that needs no measurement holds nobody out
            models.CheckConstraint(
                condition=models.Q(control_share__gte=0, control_share__lt=1),
                name="campaign_control_share_from_0_below_1",
            ),
            models.CheckConstraint(
                condition=models.Q(ends_on__gt=models.F("starts_on")),
                name="campaign_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CampaignMember(models.Model):
    """A member of a campaign's audience and which group the hash put them in."""

    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.CASCADE,
        related_name="audience",
        db_index=False,  # campaign_member_unique starts with it
    )
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="+")
    in_control = models.BooleanField(_("in control group"))

    class Meta:
        db_table = "analytics_campaignmember"
        verbose_name = _("campaign member")
        verbose_name_plural = _("campaign members")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "member"], name="campaign_member_unique")
        ]

    def __str__(self) -> str:
        return f"{self.member_id} {'control' if self.in_control else 'target'}"
