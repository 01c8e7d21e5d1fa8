"""Which of the program's facts the printed materials lead with (the marketer's choice), and the
staff's training quiz attempts."""

from django.conf import settings
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


class QuizAttempt(models.Model):
    """A person's answers to the training quiz (`materials.quiz`), marked: one row per form
    sent (`materials.services.quiz_attempt_record`)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="quiz_attempts",
    )
    store = models.ForeignKey(
        "pos.Store",
        verbose_name=_("store"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    program_version = models.PositiveIntegerField(
        _("program version"), help_text=_("0: the built-in default")
    )
    score = models.PositiveSmallIntegerField(_("right answers"))
    total = models.PositiveSmallIntegerField(_("questions"))
    answers = models.JSONField(_("answers"), default=list)
    taken_at = models.DateTimeField(_("taken"))

    class Meta:
        verbose_name = _("quiz attempt")
        verbose_name_plural = _("quiz attempts")
        indexes = [models.Index(fields=["user", "taken_at"], name="quiz_attempt_user_taken")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.score}/{self.total}"
