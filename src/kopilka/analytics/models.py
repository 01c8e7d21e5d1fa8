from datetime import timedelta

from django.db import models
from django.utils.translation import gettext_lazy as _

from kopilka.core import clock

# A queued or running snapshot older than this is presumed lost (its worker died).
PENDING_AGE = timedelta(hours=2)


class SnapshotQuerySet(models.QuerySet["Snapshot"]):
    def pending(self) -> "SnapshotQuerySet":
        """Queued or running, and recent enough to be still on its way."""
        return self.filter(
            status__in=[Snapshot.Status.QUEUED, Snapshot.Status.RUNNING],
            requested_at__gte=clock.now() - PENDING_AGE,
        )


class Snapshot(models.Model):
    """One run of the analytics pipeline; its tables are Parquet files in its own folder."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")

    requested_at = models.DateTimeField(_("requested"))
    as_of = models.DateTimeField(_("data up to"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.QUEUED
    )
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True, default="")

    objects = SnapshotQuerySet.as_manager()

    class Meta:
        verbose_name = _("analytics snapshot")
        verbose_name_plural = _("analytics snapshots")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.status} {self.requested_at:%Y-%m-%d %H:%M}"


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
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(control_share__gt=0, control_share__lt=1),
                name="campaign_control_share_between_0_and_1",
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

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="audience")
    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="+")
    in_control = models.BooleanField(_("in control group"))

    class Meta:
        verbose_name = _("campaign member")
        verbose_name_plural = _("campaign members")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "member"], name="campaign_member_unique")
        ]

    def __str__(self) -> str:
        return f"{self.member_id} {'control' if self.in_control else 'target'}"
