"""Send a campaign from the back office: the same launch as `manage.py campaign_send` (a new
key creates the campaign with its persistent control group; a key that exists keeps its
audience and queues nothing twice)."""

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from kopilka.analytics.labels import SEGMENTS
from kopilka.campaigns.models import Campaign
from kopilka.core.audit import Actor
from kopilka.core.errors import DomainError
from kopilka.messaging.campaigns import campaign_launch
from kopilka.messaging.models import MessageTemplate
from kopilka.staff.roles import marketer_required

CHANNELS = [("sms", "SMS"), ("email", gettext_lazy("Email")), ("telegram", "Telegram")]
LANGUAGES = [("ru", "Русский"), ("en", "English")]


class CampaignSendForm(forms.Form):
    key = forms.SlugField(
        label=gettext_lazy("Key"),
        max_length=64,
        help_text=gettext_lazy(
            "Latin letters, digits and dashes; it seeds the control group. The key of a "
            "campaign made before sends that campaign, to its own audience."
        ),
    )
    name = forms.CharField(label=gettext_lazy("Campaign name"), max_length=200, required=False)
    audience = forms.ChoiceField(label=gettext_lazy("Audience"))
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), choices=CHANNELS)
    language = forms.ChoiceField(label=gettext_lazy("Language"), choices=LANGUAGES)
    template = forms.ChoiceField(label=gettext_lazy("Template"), required=False)
    text = forms.CharField(
        label=gettext_lazy("Text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy(
            "Without a template. Variables: {name}, {balance}, {expiring_points}, "
            "{expiring_date}. An SMS gets the unsubscribe link at its end."
        ),
    )
    subject = forms.CharField(label=gettext_lazy("Email subject"), required=False, max_length=200)
    control_share = forms.DecimalField(
        label=gettext_lazy("Control group share"),
        initial=Decimal("0.10"),
        min_value=Decimal(0),
        max_value=Decimal("0.5"),
        decimal_places=3,
        help_text=gettext_lazy("Members held out, so the campaign's real effect shows."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        segments = [(f"rfm:{key}", f"RFM: {label}") for key, (label, _advice) in SEGMENTS.items()]
        earlier = [
            (f"campaign:{key}", _("Targets of “%(key)s”") % {"key": key})
            for key in Campaign.objects.order_by("-starts_on").values_list("key", flat=True)[:50]
        ]
        self.fields["audience"].choices = [  # type: ignore[attr-defined]
            ("all", _("All active members")),
            *segments,
            *earlier,
        ]
        names = MessageTemplate.objects.order_by("name").values_list("name", flat=True)
        self.fields["template"].choices = [  # type: ignore[attr-defined]
            ("", _("No template: the text below")),
            *((name, name) for name in dict.fromkeys(names)),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("template") and not (data.get("text") or "").strip():
            self.add_error("text", _("Write the text or choose a template."))
        return data


@marketer_required
@require_http_methods(["GET", "POST"])
def campaign_send(request: HttpRequest) -> HttpResponse:
    form = CampaignSendForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            launched = campaign_launch(**data, actor=Actor.staff(request.user))
        except DomainError as refusal:
            message, fields = refusal.describe()
            field = next((name for name in fields if name in form.fields), None)
            form.add_error(field, message)
        else:
            queued = launched.queued
            messages.success(
                request,
                _(
                    "Campaign “%(key)s”: %(queued)d messages queued, %(control)d members held "
                    "out as the control group, %(already)d queued before."
                )
                % {
                    "key": launched.campaign.key,
                    "queued": queued.queued,
                    "control": queued.control_group,
                    "already": queued.already,
                },
            )
            return redirect("backoffice:campaign-send")
    return render(
        request,
        "backoffice/campaign_send.html",
        {"form": form, "section": "campaigns"},
        status=400 if form.errors else 200,
    )
