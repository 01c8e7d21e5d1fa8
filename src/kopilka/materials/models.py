"""Which of the program's facts the printed materials lead with (the marketer's choice)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class MaterialsChoice(models.Model):
    """One row: the keys of the three facts (`materials.facts.program_facts`) the poster, the
    table tent and the flyer show. A key the program no longer has is skipped."""

    facts = models.JSONField(_("facts shown"), default=list, blank=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("printed materials choice")
        verbose_name_plural = _("printed materials choices")

    def __str__(self) -> str:
        return ", ".join(self.facts)
