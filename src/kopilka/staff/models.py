"""Staff beyond Django's users: the stores a person works in (a cashier sees only those)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class StaffProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="staff_profile",
    )
    stores = models.ManyToManyField(
        "pos.Store", verbose_name=_("stores"), blank=True, related_name="staff"
    )

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")
        permissions = [("use_till", _("Can use the cashier screen"))]

    def __str__(self) -> str:
        return str(self.user)
