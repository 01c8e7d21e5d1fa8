"""The marketer console's program page: the program as forms, a live preview on example
receipts, "what will this cost" (the what-if replay of the draft) and saving as a new version.

Without JavaScript the "Preview" button renders the page with the draft's examples; with it,
`program.js` sends the form to `program_preview` as the marketer types and swaps the examples.
"""

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kopilka.backoffice.preview import (
    Outcome,
    example_quotes,
    product_names,
    shop_stores,
)
from kopilka.backoffice.program_forms import ProgramDraft
from kopilka.core import clock
from kopilka.core.audit import Actor
from kopilka.core.errors import DomainError
from kopilka.core.idempotency import form_key, request_fingerprint, run_idempotent
from kopilka.pos.stores import StoreRef
from kopilka.program.engine import Program
from kopilka.program.engine.document import document_warnings, program_to_document
from kopilka.program.models import ProgramVersion
from kopilka.program.selectors import program_in_force_since
from kopilka.program.services import program_version_create, simulation_request
from kopilka.staff.roles import marketer_required

ADD = {"add-level": "levels", "add-tier": "tiers", "add-excluded": "excluded", "add-rule": "rules"}


def _outcomes(draft: Program, live: Program, stores: list[StoreRef]) -> list[Outcome]:
    return example_quotes(draft, live, stores=stores, products=product_names(), now=clock.now())


def _with_row(data: Any, action: str) -> Any:
    """The posted data with one more empty row in the formset the button names."""
    prefix = ADD.get(action)
    if prefix is None:
        return data
    data = data.copy()
    total = f"{prefix}-TOTAL_FORMS"
    data[total] = str(int(data.get(total) or 0) + 1)
    return data


def _save(request: HttpRequest, draft: ProgramDraft) -> HttpResponse | None:
    """A new version, once per rendered form (a double click saves one); None on a refusal,
    which is then on the form."""
    try:
        key = form_key(
            request.POST.get("key", ""), _("The page is out of date: open the program again.")
        )
    except DomainError as refusal:
        draft.main.add_error(None, refusal.message)
        return None
    document, moment = draft.document(), draft.moment()

    def work() -> tuple[int, dict[str, object]]:
        version = program_version_create(
            actor=Actor.staff(request.user),
            document=document,
            effective_from=moment,
            note=draft.main.cleaned_data["note"],
        )
        return 201, {"version": version.pk}

    status, body = run_idempotent(
        scope=f"backoffice:user:{request.user.pk}",
        key=key,
        request_hash=request_fingerprint("program-version", document, moment),
        work=work,
    )
    if status != 201:
        error: Any = body["error"]
        field = "effective_from" if "effective_from" in error.get("fields", {}) else None
        draft.main.add_error(field, error["message"])
        return None
    version = ProgramVersion.objects.get(pk=int(str(body["version"])))
    for warning in document_warnings(version.document):
        messages.warning(request, warning)
    if version.effective_from > clock.now():
        messages.success(
            request,
            _("Version %(number)d is saved and takes effect at %(moment)s.")
            % {
                "number": version.pk,
                "moment": timezone.localtime(version.effective_from).strftime("%Y-%m-%d %H:%M"),
            },
        )
    else:
        messages.success(
            request,
            _("Version %(number)d is in force. New receipts follow it within %(seconds)d seconds.")
            % {"number": version.pk, "seconds": settings.KOPILKA_RULES_CACHE_SECONDS},
        )
    return redirect("backoffice:program")


def _cost(request: HttpRequest, draft: ProgramDraft) -> HttpResponse | None:
    """The what-if replay of the draft over the last 12 months."""
    try:
        run = simulation_request(
            draft=draft.document(), since=None, until=None, actor=Actor.staff(request.user)
        )
    except DomainError as refusal:
        draft.main.add_error(None, refusal.message)
        return None
    return redirect("backoffice:simulation", simulation_id=run.pk)


@marketer_required
@require_http_methods(["GET", "POST"])
def program(request: HttpRequest) -> HttpResponse:
    live, since = program_in_force_since()
    stores = shop_stores()
    codes = [store.code for store in stores]
    base = program_to_document(live)
    action = request.POST.get("action", "preview")
    data = _with_row(request.POST, action) if request.method == "POST" else None
    draft = ProgramDraft(data, base=base, stores=codes)
    shown: Program | None = live
    if data is not None:
        shown = draft.program()
        if shown is not None and action == "save":
            response = _save(request, draft)
            if response is not None:
                return response
        elif shown is not None and action == "cost":
            response = _cost(request, draft)
            if response is not None:
                return response
    context = {
        "section": "program",
        "draft": draft,
        "live": live,
        "since": since,
        "key": uuid.uuid4().hex,
        "outcomes": _outcomes(shown, live, stores) if shown is not None else [],
        "problems": list(draft.problems()),
        "warnings": document_warnings(shown) if shown is not None else [],
        "managed": _managed(),
    }
    invalid = data is not None and shown is None
    return render(request, "backoffice/program.html", context, status=400 if invalid else 200)


@marketer_required
@require_POST
def program_preview(request: HttpRequest) -> HttpResponse:
    """The examples of the posted draft (a fragment of the page), or what is wrong with it."""
    live, _since = program_in_force_since()
    stores = shop_stores()
    draft = ProgramDraft(
        request.POST, base=program_to_document(live), stores=[s.code for s in stores]
    )
    shown = draft.program()
    context = {
        "outcomes": _outcomes(shown, live, stores) if shown is not None else [],
        "problems": list(draft.problems()),
        "warnings": document_warnings(shown) if shown is not None else [],
    }
    return render(request, "backoffice/program_preview.html", context)


def _managed() -> list[tuple[str, str]]:
    """The other things a marketer runs, kept in the admin."""
    return [
        (_("Rewards"), reverse("admin:rewards_reward_changelist")),
        (_("Message templates"), reverse("admin:messaging_messagetemplate_changelist")),
        (_("Send a campaign"), reverse("backoffice:campaign-send")),
        (_("Campaign results"), reverse("backoffice:campaigns")),
        (_("Program versions"), reverse("admin:program_programversion_changelist")),
    ]
