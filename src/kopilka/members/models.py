from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kopilka.core.ids import new_referral_code


class Member(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        BLOCKED = "blocked", _("blocked")
        ANONYMISED = "anonymised", _("anonymised")

    phone = models.CharField(
        _("phone"), max_length=20, unique=True, help_text=_("E.164, e.g. +79161234567")
    )
    email = models.EmailField(_("email"), blank=True, default="")
    password = models.CharField(  # optional: the member's page also takes a one-time code
        _("password (hashed)"), max_length=128, blank=True, default="", db_default=""
    )
    email_confirmed_at = models.DateTimeField(  # the member opened the link sent to it
        _("email confirmed"), null=True, blank=True
    )
    language = models.CharField(  # of the member's messages and pages
        _("language"),
        max_length=8,
        choices=[("ru", "Русский"), ("en", "English")],
        default="ru",
        db_default="ru",
    )
    name = models.CharField(pgettext_lazy("person", "name"), max_length=200, blank=True, default="")
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    enrolled_store = models.ForeignKey(
        "pos.Store",
        verbose_name=_("enrolling store"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("enrolled by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), db_index=True)
    # Cache of the member's point account: every ledger transfer updates it with F() in the same
    # transaction; `manage.py ledger_check` proves it equals the postings and the lots.
    points_balance = models.BigIntegerField(_("points held"), default=0)
    # Cumulative spend after discounts and returns (kopecks): the accumulating discount's level.
    spend_total = models.BigIntegerField(_("total spend, kopecks"), default=0)
    # Moved by every write of the ledger's applier: a quote made on an older version is stale
    # (the one-statement commit checks it; see ledger/state.py).
    state_version = models.BigIntegerField(_("state version"), default=0)
    # The member's tier (a code of the program's tiers; blank: below the first). Raised by the
    # purchase that reaches a higher one, lowered only by the daily review after the grace
    # period; a tier set by staff holds until tier_manual_until.
    tier_code = models.CharField(_("tier"), max_length=64, blank=True, default="")
    tier_since = models.DateTimeField(_("tier since"), null=True, blank=True)
    tier_manual_until = models.DateField(
        _("manual tier until"),
        null=True,
        blank=True,
        help_text=_("a tier set by staff holds through this day; reviews resume after it"),
    )
    # A member's own short code to invite friends with; referred_by is who invited this member.
    referral_code = models.CharField(
        _("referral code"), max_length=16, unique=True, default=new_referral_code
    )
    referred_by = models.ForeignKey(
        "self",
        verbose_name=_("invited by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    tier_at_risk_since = models.DateField(
        _("below the tier's spend since"),
        null=True,
        blank=True,
        help_text=_("the review day that first found the spend below the tier's threshold"),
    )

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")

    def __str__(self) -> str:
        return f"{self.name or '—'} {self.phone}"


class Card(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", pgettext_lazy("card", "active")
        BLOCKED = "blocked", pgettext_lazy("card", "blocked")

    member = models.ForeignKey(
        Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="cards"
    )
    number = models.CharField(_("number"), max_length=32, unique=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    issued_at = models.DateTimeField(_("issued"))
    blocked_at = models.DateTimeField(_("blocked"), null=True, blank=True)
    replaced_by = models.OneToOneField(
        "self",
        verbose_name=_("replaced by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("card")
        verbose_name_plural = _("cards")

    def __str__(self) -> str:
        return self.number


class Consent(models.Model):
    """One row per decision: the latest row for (member, purpose, channel) is in force."""

    class Purpose(models.TextChoices):
        PERSONAL_DATA = "personal_data", _("personal data processing")
        MARKETING = "marketing", _("advertising messages")
        # not a consent under the law but the member's choice, recorded the same way
        SERVICE = "service", _("messages about the account")

    class Channel(models.TextChoices):
        ANY = "any", _("any")
        SMS = "sms", _("SMS")
        EMAIL = "email", _("email")
        TELEGRAM = "telegram", _("Telegram")

    member = models.ForeignKey(
        Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="consents"
    )
    purpose = models.CharField(_("purpose"), max_length=32, choices=Purpose.choices)
    channel = models.CharField(
        _("channel"), max_length=16, choices=Channel.choices, default=Channel.ANY
    )
    given = models.BooleanField(_("given"))
    recorded_at = models.DateTimeField(_("recorded"))
    source = models.CharField(
        _("source"), max_length=100, help_text=_("where it was given: terminal, portal, import")
    )
    text_version = models.CharField(_("text version"), max_length=32)
    # the evidence (152-FZ, 126-FZ art. 44.1): to what, from where, by whom, how it was confirmed
    address = models.CharField(
        _("address"),
        max_length=254,
        blank=True,
        default="",
        db_default="",
        help_text=_("phone or email"),
    )
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(
        _("browser"), max_length=300, blank=True, default="", db_default=""
    )
    store = models.ForeignKey(
        "pos.Store",
        verbose_name=_("store"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor = models.CharField(
        _("recorded by"),
        max_length=150,
        blank=True,
        default="",
        db_default="",
        help_text=_("terminal, staff"),
    )
    confirmed_by = models.CharField(
        _("confirmed by"),
        max_length=32,
        blank=True,
        default="",
        db_default="",
        help_text=_("how the person proved the address: sms_code, telegram, email_link"),
    )

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        indexes = [models.Index(fields=["member", "purpose", "channel", "-recorded_at"])]

    def __str__(self) -> str:
        return f"{self.member_id} {self.purpose}/{self.channel}: {self.given}"


class TierChange(models.Model):
    """A member's tier changed: by a purchase, a review or staff, with its reason."""

    class Kind(models.TextChoices):
        UPGRADE = "upgrade", _("upgrade by spend")
        DOWNGRADE = "downgrade", _("downgrade at a review")
        MANUAL = "manual", _("set by staff")

    member = models.ForeignKey(
        Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="tier_changes"
    )
    created_at = models.DateTimeField(_("time"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    from_tier = models.CharField(_("from tier"), max_length=64, blank=True, default="")
    to_tier = models.CharField(_("to tier"), max_length=64, blank=True, default="")
    window_spend = models.BigIntegerField(_("spend in the tier window, kopecks"))
    purchase_id = models.BigIntegerField(_("purchase"), null=True, blank=True)
    actor_label = models.CharField(_("by"), max_length=200)
    reason = models.JSONField(_("reason"), help_text=_("a reason code with its figures"))

    class Meta:
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
        indexes = [models.Index(fields=["member", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.from_tier or '—'} → {self.to_tier or '—'}"
