"""The outbox: one row per message to a member, written in the same transaction as its cause and
sent by `manage.py messages_send`, which checks consent, quiet hours and caps when it sends."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Message(models.Model):
    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        EMAIL = "email", _("email")
        TELEGRAM = "telegram", _("Telegram")

    class Purpose(models.TextChoices):
        SERVICE = "service", _("about the member's account")
        MARKETING = "marketing", _("advertising")

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENDING = "sending", _("being sent")
        SENT = "sent", _("sent")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")
        SUPPRESSED = "suppressed", _("not sent")

    class Reason(models.TextChoices):
        """Why a message waits or was not sent (ours; a provider's failure is its own text)."""

        NO_CONSENT = "no_consent", _("no consent to advertising on this channel")
        CONSENT_WITHDRAWN = "consent_withdrawn", _("consent withdrawn")
        QUIET_HOURS_DEFERRED = "quiet_hours_deferred", _("waits for the end of quiet hours")
        FREQUENCY_CAP = "frequency_cap", _("too many advertising messages lately")
        DUPLICATE = "duplicate", _("the same message was sent already")
        CONTROL_GROUP = "control_group", _("in the campaign's control group")
        UNSUBSCRIBED = "unsubscribed", _("unsubscribed")
        NO_ADDRESS = "no_address", _("no address on this channel")
        SERVICE_OFF = "service_off", _("the member turned these messages off")

    member = models.ForeignKey(  # null: a code to a phone that is not a member yet (joining)
        "members.Member",
        verbose_name=_("member"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    trigger = models.CharField(
        _("trigger"), max_length=64, help_text=_("what caused it: points_expiring, campaign, …")
    )
    dedup_key = models.CharField(  # unique by message_dedup_key_unique
        _("deduplication key"),
        max_length=200,
        help_text=_("trigger, member and occasion: the same occasion is never sent twice"),
    )
    language = models.CharField(_("language"), max_length=8, default="ru")
    subject = models.CharField(_("subject"), max_length=200, blank=True, default="")
    text = models.TextField(_("text"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.QUEUED
    )
    reason = models.CharField(
        _("reason"),
        max_length=300,
        blank=True,
        default="",
        help_text=_("ours (a code) or the provider's failure"),
    )
    created_at = models.DateTimeField(_("queued at"))
    due_at = models.DateTimeField(_("due at"))
    lease_until = models.DateTimeField(
        _("being sent until"),
        null=True,
        blank=True,
        help_text=_("a worker that dies mid-send leaves it; another takes the message after it"),
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    address = models.CharField(_("sent to"), max_length=254, blank=True, default="")
    parts = models.PositiveIntegerField(_("SMS parts"), default=0)
    provider = models.CharField(_("provider"), max_length=32, blank=True, default="")
    provider_message_id = models.CharField(
        _("provider's message id"), max_length=100, blank=True, default=""
    )
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    consent = models.ForeignKey(
        "members.Consent",
        verbose_name=_("consent relied on"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # read from the message, never searched by
    )
    consent_text_version = models.CharField(
        _("consent text version"), max_length=32, blank=True, default=""
    )

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        # A constraint, not unique=True: PostgreSQL then gets no second, LIKE-pattern index of
        # the key (123 MB for a million messages, written by every row, never read).
        constraints = [
            models.UniqueConstraint(fields=["dedup_key"], name="message_dedup_key_unique")
        ]
        indexes = [
            models.Index(
                fields=["due_at", "id"],
                name="message_due",
                condition=models.Q(status__in=["queued", "sending"]),
            ),
            # the caps' count: advertising being sent or sent (a queued row is not in it, so
            # queueing a million-member campaign does not write this index)
            models.Index(
                fields=["member", "channel", "-sent_at"],
                name="message_advert_sent",
                condition=models.Q(
                    purpose="marketing", status__in=["sending", "sent", "delivered"]
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.channel} {self.trigger} → {self.member_id}: {self.status}"


class MessageTemplate(models.Model):
    """The text of a trigger's or campaign's message on a channel, in one language."""

    name = models.SlugField(_("name"), max_length=64)
    channel = models.CharField(_("channel"), max_length=16, choices=Message.Channel.choices)
    language = models.CharField(
        _("language"), max_length=8, choices=[("ru", "Русский"), ("en", "English")], default="ru"
    )
    subject = models.CharField(_("subject"), max_length=200, blank=True, default="")
    text = models.TextField(
        _("text"),
        help_text=_(
            "variables: {name} {balance} {expiring_points} {expiring_date}, and a trigger's own"
        ),
    )
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        constraints = [
            models.UniqueConstraint(
                fields=["name", "channel", "language"], name="message_template_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.channel}, {self.language})"


class TelegramLink(models.Model):
    """A member's Telegram chat, linked by the bot's deep link (`t.me/<bot>?start=<token>`):
    the member's messages on the Telegram channel go to it. One chat per member and one member
    per chat; the member's /stop or blocking the bot removes it."""

    member = models.OneToOneField(
        "members.Member",
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        related_name="telegram_link",
    )
    chat_id = models.BigIntegerField(_("Telegram chat"), unique=True)
    username = models.CharField(_("Telegram user name"), max_length=64, blank=True, default="")
    linked_at = models.DateTimeField(_("linked"))

    class Meta:
        verbose_name = _("Telegram link")
        verbose_name_plural = _("Telegram links")

    def __str__(self) -> str:
        return f"{self.member_id} → {self.chat_id}"
