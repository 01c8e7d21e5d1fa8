"""The rewards catalogue and the vouchers members exchange points for."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kopilka.core.ids import new_voucher_code


class Reward(models.Model):
    """Something a member can take for points: a free product, money off, a gift."""

    class Kind(models.TextChoices):
        FREE_PRODUCT = "free_product", _("free product")
        FIXED_DISCOUNT = "fixed_discount", _("fixed discount")
        PERCENT_DISCOUNT = "percent_discount", _("percent discount on a category")
        GIFT = "gift", _("gift")

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    sku = models.CharField(_("SKU"), max_length=64, blank=True, default="")
    category = models.CharField(_("category"), max_length=100, blank=True, default="")
    amount = models.BigIntegerField(
        _("discount, kopecks"), default=0, help_text=_("for a fixed discount")
    )
    percent = models.DecimalField(
        _("discount, %"),
        max_digits=5,
        decimal_places=2,
        default=0,
        help_text=_("for a percent discount"),
    )
    points_price = models.PositiveIntegerField(_("price in points"))
    cost = models.BigIntegerField(
        _("cost to the business, kopecks"), help_text=_("what one reward costs the business")
    )
    stock = models.PositiveIntegerField(
        _("in stock"), null=True, blank=True, help_text=_("empty: unlimited")
    )
    per_member_limit = models.PositiveIntegerField(
        _("per member"), null=True, blank=True, help_text=_("empty: no limit")
    )
    valid_days = models.PositiveIntegerField(
        _("valid for, days"), default=30, help_text=_("how long a voucher lasts after the exchange")
    )
    active_from = models.DateField(_("from"), null=True, blank=True)
    active_until = models.DateField(_("until"), null=True, blank=True)
    tiers = models.JSONField(
        _("tiers"), default=list, blank=True, help_text=_("tier codes allowed; empty: everyone")
    )
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("reward")
        verbose_name_plural = _("rewards")
        ordering = ["points_price", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(points_price__gt=0), name="reward_price_positive"),
            models.CheckConstraint(condition=Q(cost__gte=0), name="reward_cost_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.points_price})"

    def clean(self) -> None:
        """What each kind needs, so the till can always apply it."""
        from django.core.exceptions import ValidationError

        problems = {}
        if self.kind == self.Kind.FREE_PRODUCT and not self.sku:
            problems["sku"] = _("A free product needs its SKU.")
        if self.kind == self.Kind.FIXED_DISCOUNT and self.amount <= 0:
            problems["amount"] = _("A fixed discount needs an amount above zero.")
        if self.kind == self.Kind.PERCENT_DISCOUNT:
            if not self.category:
                problems["category"] = _("A percent discount needs its category.")
            if not 0 < self.percent <= 100:
                problems["percent"] = _("From above 0 to 100.")
        if (
            self.active_from is not None
            and self.active_until is not None
            and self.active_until < self.active_from
        ):
            problems["active_until"] = _("Must not be before the start.")
        if problems:
            raise ValidationError(problems)


class Voucher(models.Model):
    """A reward exchanged: an unguessable code, used once."""

    code = models.CharField(_("code"), max_length=32, unique=True, default=new_voucher_code)
    reward = models.ForeignKey(
        Reward, verbose_name=_("reward"), on_delete=models.PROTECT, related_name="vouchers"
    )
    member = models.ForeignKey(
        "members.Member", verbose_name=_("member"), on_delete=models.PROTECT, related_name="+"
    )
    transfer = models.OneToOneField(
        "ledger.Transfer",
        verbose_name=_("points spent"),
        on_delete=models.PROTECT,
        related_name="voucher",
    )
    issued_at = models.DateTimeField(_("issued"))
    valid_until = models.DateTimeField(_("valid until"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    purchase_id = models.BigIntegerField(_("purchase"), null=True, blank=True)
    discount = models.BigIntegerField(
        _("discount given, kopecks"),
        default=0,
        help_text=_("what the voucher took off the receipt it was used on"),
    )

    class Meta:
        verbose_name = _("voucher")
        verbose_name_plural = _("vouchers")
        indexes = [models.Index(fields=["member", "reward"])]

    def __str__(self) -> str:
        return f"{self.code} {self.reward_id}"
