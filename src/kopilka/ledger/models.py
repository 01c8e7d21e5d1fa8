"""The points ledger: append-only double entry.

Accounts are implicit: a member's account is (MEMBER, member_id); the program's accounts are
ISSUED (points created by earning; runs negative), REDEEMED, EXPIRED and ADJUSTMENT. A transfer's
postings sum to zero. Point lots say which points a member holds, when they become available and
when they expire; `remaining` is the only column ever updated, always under the member's row lock.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Transfer(models.Model):
    class Kind(models.TextChoices):
        EARN = "earn", _("earned")
        REDEEM = "redeem", _("redeemed")
        RETURN = "return", _("return")
        EXPIRE = "expire", _("expired")
        ADJUST = "adjust", _("adjustment")
        BONUS = "bonus", _("bonus")
        REWARD = "reward", _("reward")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    member = models.ForeignKey(  # indexed by (member, -created_at, -id) below
        "members.Member",
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        related_name="transfers",
        db_index=False,
    )
    purchase = models.ForeignKey(
        "pos.Purchase",
        verbose_name=_("purchase"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    purchase_return = models.ForeignKey(
        "pos.PurchaseReturn",
        verbose_name=_("return"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    points = models.BigIntegerField(_("points"), help_text=_("change of the member's balance"))
    created_at = models.DateTimeField(_("time"))
    reason = models.CharField(_("reason"), max_length=500, blank=True, default="")
    actor_label = models.CharField(_("actor"), max_length=200)

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        indexes = [models.Index(fields=["member", "-created_at", "-id"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.points:+d}"


class Posting(models.Model):
    class Account(models.TextChoices):
        MEMBER = "member", _("member")
        ISSUED = "issued", _("issued")
        REDEEMED = "redeemed", _("redeemed")
        EXPIRED = "expired", _("expired")
        ADJUSTMENT = "adjustment", _("adjustment")

    transfer = models.ForeignKey(Transfer, on_delete=models.PROTECT, related_name="postings")
    account = models.CharField(_("account"), max_length=16, choices=Account.choices)
    member_id = models.BigIntegerField(_("member"), db_index=True)
    amount = models.BigIntegerField(_("points"))

    class Meta:
        verbose_name = _("posting")
        verbose_name_plural = _("postings")

    def __str__(self) -> str:
        return f"{self.account} {self.amount:+d}"


class PointLot(models.Model):
    member = models.ForeignKey(
        "members.Member", verbose_name=_("member"), on_delete=models.PROTECT, related_name="lots"
    )
    transfer = models.ForeignKey(
        Transfer, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="lots"
    )
    points = models.BigIntegerField(_("points"))
    remaining = models.BigIntegerField(_("remaining"))
    earned_at = models.DateTimeField(_("earned"))
    available_at = models.DateTimeField(_("available from"))
    expires_at = models.DateTimeField(_("expires"))

    class Meta:
        verbose_name = _("point lot")
        verbose_name_plural = _("point lots")
        indexes = [
            models.Index(
                fields=["member", "expires_at", "id"],
                name="lot_open_fifo",
                condition=Q(remaining__gt=0),
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(remaining__gte=0) & Q(remaining__lte=models.F("points")),
                name="lot_remaining_in_range",
            )
        ]

    def __str__(self) -> str:
        return f"lot #{self.pk}: {self.remaining}/{self.points}"


class LotSpend(models.Model):
    """Which lot paid for which transfer: FIFO by expiry, and the trail behind every "why"."""

    lot = models.ForeignKey(PointLot, on_delete=models.PROTECT, related_name="spends")
    transfer = models.ForeignKey(Transfer, on_delete=models.PROTECT, related_name="spends")
    member_id = models.BigIntegerField()
    points = models.BigIntegerField()

    class Meta:
        verbose_name = _("lot spending")
        verbose_name_plural = _("lot spendings")
        constraints = [models.CheckConstraint(condition=Q(points__gt=0), name="lot_spend_positive")]

    def __str__(self) -> str:
        return f"{self.points} from lot #{self.lot_id}"


class RuleUse(models.Model):
    """A program rule applied for a member once (on one purchase): counted against the rule's
    per-day and per-month limits. Written only by the ledger's applier, like the lots."""

    member = models.ForeignKey(
        "members.Member",
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    rule = models.CharField(_("rule"), max_length=64)
    day = models.DateField(_("day"), help_text=_("the purchase's day in the store's time zone"))
    purchase = models.ForeignKey(
        "pos.Purchase",
        verbose_name=_("purchase"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )

    class Meta:
        verbose_name = _("rule use")
        verbose_name_plural = _("rule uses")
        indexes = [models.Index(fields=["member", "day"], name="rule_use_member_day")]

    def __str__(self) -> str:
        return f"{self.rule} {self.day}"


class BonusGrant(models.Model):
    """An event bonus given once: the unique (member, kind, key) is what makes a job or an event
    that runs twice give nothing more (key: the year of a birthday, the friend of a referral)."""

    class Kind(models.TextChoices):
        WELCOME = "welcome", _("welcome")
        BIRTHDAY = "birthday", _("birthday")
        PROFILE_COMPLETED = "profile_completed", _("profile completed")
        REFERRER = "referrer", _("a friend joined")
        FRIEND = "friend", _("joined by invitation")

    member = models.ForeignKey(
        "members.Member", verbose_name=_("member"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    key = models.CharField(_("key"), max_length=32, blank=True, default="")
    transfer = models.OneToOneField(
        Transfer, verbose_name=_("transfer"), on_delete=models.PROTECT, related_name="bonus"
    )
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("bonus given")
        verbose_name_plural = _("bonuses given")
        constraints = [models.UniqueConstraint(fields=["member", "kind", "key"], name="bonus_once")]

    def __str__(self) -> str:
        return f"{self.member_id} {self.kind} {self.key}"
