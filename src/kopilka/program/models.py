from django.db import models
from django.utils.translation import gettext_lazy as _


class ProgramVersion(models.Model):
    """One version of the program document, in force from `effective_from` until the next one.

    Immutable: `program.services.program_version_create` only ever adds a row, so a purchase
    that records the version that priced it can be replayed, and returned, by that version.
    `document` is the canonical document (`engine.document.program_to_document`).
    """

    document = models.JSONField(_("document"))
    effective_from = models.DateTimeField(_("in force from"), db_index=True)
    created_at = models.DateTimeField(_("created"))
    created_by = models.CharField(_("actor"), max_length=200)
    note = models.CharField(_("note"), max_length=500, blank=True, default="")

    class Meta:
        verbose_name = _("program version")
        verbose_name_plural = _("program versions")
        ordering = ["-effective_from", "-id"]

    def __str__(self) -> str:
        return str(_("Version %(number)d") % {"number": self.pk or 0})


class Simulation(models.Model):
    """A what-if run of a draft program over a period, done by the background worker."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")

    draft = models.JSONField(_("draft"), help_text=_("the draft program document"))
    since = models.DateTimeField(_("from"))
    until = models.DateTimeField(_("until"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.QUEUED
    )
    purchases_total = models.PositiveIntegerField(_("purchases to replay"), default=0)
    purchases_done = models.PositiveIntegerField(_("purchases replayed"), default=0)
    result = models.JSONField(_("result"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True, default="")
    requested_at = models.DateTimeField(_("requested"))
    requested_by = models.CharField(_("actor"), max_length=200)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("simulation")
        verbose_name_plural = _("simulations")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.status}"

    @property
    def progress(self) -> float:
        """0 to 1: the share of the period's purchases replayed (1 when ready)."""
        if self.status == self.Status.READY:
            return 1.0
        if not self.purchases_total:
            return 0.0
        return min(1.0, self.purchases_done / self.purchases_total)
