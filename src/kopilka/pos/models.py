from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Store(models.Model):
    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Moscow")

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Terminal(models.Model):
    """A till or POS system; it authenticates with an API key shown once and stored hashed."""

    store = models.ForeignKey(
        Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="terminals"
    )
    name = models.CharField(_("name"), max_length=200)
    key_prefix = models.CharField(_("key prefix"), max_length=16, unique=True)
    key_hash = models.CharField(_("key hash"), max_length=64)
    created_at = models.DateTimeField(_("created"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("terminal")
        verbose_name_plural = _("terminals")

    def __str__(self) -> str:
        return f"{self.name} @ {self.store.code}"


class Purchase(models.Model):
    # store and member need no index of their own: the unique (store, receipt_number) and
    # purchase_member_time start with them, and every commit writes each index.
    store = models.ForeignKey(
        Store,
        verbose_name=_("store"),
        on_delete=models.PROTECT,
        related_name="purchases",
        db_index=False,
    )
    terminal = models.ForeignKey(
        Terminal,
        verbose_name=_("terminal"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    member = models.ForeignKey(
        "members.Member",
        verbose_name=_("member"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="purchases",
        db_index=False,
    )
    receipt_number = models.CharField(_("receipt number"), max_length=64)
    created_at = models.DateTimeField(_("time"), db_index=True)
    amount = models.BigIntegerField(_("amount, kopecks"))
    redeem_points = models.BigIntegerField(_("points redeemed"))
    payable = models.BigIntegerField(_("paid, kopecks"))
    earn_points = models.BigIntegerField(_("points earned"))
    discount = models.BigIntegerField(_("discount, kopecks"), default=0)
    purchased_at = models.DateTimeField(
        _("purchased"), null=True, blank=True, help_text=_("the till's own time of the receipt")
    )
    program_version = models.ForeignKey(
        "program.ProgramVersion",
        verbose_name=_("program version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        help_text=_("the version that priced the receipt; empty: the built-in default"),
    )
    reasons = models.JSONField(_("reasons"), default=list, blank=True)

    class Meta:
        verbose_name = _("purchase")
        verbose_name_plural = _("purchases")
        constraints = [
            models.UniqueConstraint(
                fields=["store", "receipt_number"], name="purchase_receipt_unique_per_store"
            )
        ]
        indexes = [models.Index(fields=["member", "-created_at"], name="purchase_member_time")]

    def __str__(self) -> str:
        return f"№{self.receipt_number} ({self.store_id})"


class PurchaseLine(models.Model):
    # indexed by the unique (purchase, position)
    purchase = models.ForeignKey(
        Purchase, on_delete=models.PROTECT, related_name="lines", db_index=False
    )
    member_id = models.BigIntegerField(null=True, blank=True)
    position = models.PositiveIntegerField()
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(
        pgettext_lazy("product", "name"), max_length=200, blank=True, default=""
    )
    category = models.CharField(_("category"), max_length=100, blank=True, default="")
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)
    price = models.BigIntegerField(_("price, kopecks"))
    amount = models.BigIntegerField(_("amount, kopecks"))
    redeem_points = models.BigIntegerField(_("points redeemed"))
    earn_points = models.BigIntegerField(_("points earned"))
    discount = models.BigIntegerField(_("discount, kopecks"), default=0)
    rules = models.JSONField(_("rules"), default=list, blank=True)
    reasons = models.JSONField(
        _("reasons"), default=list, blank=True, help_text=_("reason codes with their figures")
    )

    class Meta:
        verbose_name = _("purchase line")
        verbose_name_plural = _("purchase lines")
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(
                fields=["purchase", "position"], name="purchase_line_position_unique"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="purchase_line_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} × {self.quantity}"


class PurchaseReturn(models.Model):
    purchase = models.ForeignKey(
        Purchase, verbose_name=_("purchase"), on_delete=models.PROTECT, related_name="returns"
    )
    member_id = models.BigIntegerField(null=True, blank=True)
    terminal = models.ForeignKey(
        Terminal,
        verbose_name=_("terminal"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("time"))
    amount = models.BigIntegerField(_("returned amount, kopecks"))
    earn_reversed = models.BigIntegerField(_("earned points taken back"))
    redeem_refunded = models.BigIntegerField(_("redeemed points refunded"))
    earn_not_recovered = models.BigIntegerField(
        _("earned points the member no longer had"), default=0
    )

    class Meta:
        verbose_name = _("return")
        verbose_name_plural = _("returns")

    def __str__(self) -> str:
        return f"return #{self.pk} of {self.purchase_id}"


class ReturnLine(models.Model):
    purchase_return = models.ForeignKey(
        PurchaseReturn, on_delete=models.PROTECT, related_name="lines"
    )
    purchase_line = models.ForeignKey(
        PurchaseLine, on_delete=models.PROTECT, related_name="returned"
    )
    member_id = models.BigIntegerField(null=True, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)
    amount = models.BigIntegerField(_("amount, kopecks"))
    discount = models.BigIntegerField(_("discount, kopecks"), default=0)
    earn_reversed = models.BigIntegerField()
    redeem_refunded = models.BigIntegerField()

    class Meta:
        verbose_name = _("return line")
        verbose_name_plural = _("return lines")

    def __str__(self) -> str:
        return f"{self.purchase_line_id} × {self.quantity}"
