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
