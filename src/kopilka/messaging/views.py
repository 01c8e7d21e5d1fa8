"""The unsubscribe page: GET asks, POST withdraws (the page's button or a one-click POST)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from kopilka.core.audit import Actor
from kopilka.members.models import Consent, Member
from kopilka.members.selectors import consent_latest
from kopilka.members.services import ConsentEvidence, consents_change
from kopilka.messaging.unsubscribe import unsubscribe_read


@csrf_exempt  # the signed link is the authority; a mail client's one-click POST has no cookie
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    found = unsubscribe_read(token)
    member = Member.objects.filter(pk=found[0]).first() if found else None
    if found is None or member is None or found[1] not in Consent.Channel.values:
        return render(request, "messaging/unsubscribe.html", {"invalid": True}, status=404)
    channel = found[1]
    done = False
    if request.method == "POST":
        latest = consent_latest(member.pk, Consent.Purpose.MARKETING, channel)
        if latest is None or latest.given:
            one_click = request.POST.get("List-Unsubscribe") == "One-Click"
            consents_change(
                member_id=member.pk,
                changes={f"{channel}_marketing": False},
                source="unsubscribe:one-click" if one_click else "unsubscribe:link",
                actor=Actor(label=f"member:{member.pk}"),
                evidence=ConsentEvidence.web(request, confirmed_by="signed_link"),
            )
        done = True
    channel_label = Consent.Channel(channel).label
    return render(
        request,
        "messaging/unsubscribe.html",
        {"done": done, "channel": channel_label, "token": token},
    )
