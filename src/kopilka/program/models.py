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
