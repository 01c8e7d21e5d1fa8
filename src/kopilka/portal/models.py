"""One-time login codes for the member's page: stored hashed, short-lived, tried a few times."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class LoginCode(models.Model):
    """A code asked for a phone. To log in, a phone with no member gets a row too (and no
    message), so the limits and the answers are the same whether or not it is registered; to
    join, the code goes to the phone whoever it belongs to, and proves it before the account
    exists."""

    class Purpose(models.TextChoices):
        LOGIN = "login", _("login")
        JOIN = "join", _("joining")

    phone = models.CharField(_("phone"), max_length=16)
    purpose = models.CharField(
        _("purpose"), max_length=8, choices=Purpose.choices, default=Purpose.LOGIN
    )
    member = models.ForeignKey(
        "members.Member",
        verbose_name=_("member"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    code_hash = models.CharField(_("code (hashed)"), max_length=64)
    created_at = models.DateTimeField(_("asked at"))
    expires_at = models.DateTimeField(_("valid until"))
    tries = models.PositiveSmallIntegerField(_("tries"), default=0)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("login code")
        verbose_name_plural = _("login codes")
        indexes = [
            models.Index(fields=["phone", "-created_at"], name="login_code_phone"),
            models.Index(fields=["ip", "-created_at"], name="login_code_ip"),
        ]

    def __str__(self) -> str:
        return f"{self.phone} {self.created_at:%Y-%m-%d %H:%M}"


class PasswordTry(models.Model):
    """A login by password that failed: counted per phone and per IP address, like the codes."""

    phone = models.CharField(_("phone"), max_length=16)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("failed password login")
        verbose_name_plural = _("failed password logins")
        indexes = [
            models.Index(fields=["phone", "-at"], name="password_try_phone"),
            models.Index(fields=["ip", "-at"], name="password_try_ip"),
        ]

    def __str__(self) -> str:
        return f"{self.phone} {self.at:%Y-%m-%d %H:%M}"
