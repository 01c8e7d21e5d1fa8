"""The training quiz at the cashier screen (`/till/quiz/`): the questions of `materials.quiz` on
the program in force; a form sent records one attempt (a double tap, a reload: still one) and
shows the score with the right answers to the ones missed."""

import uuid
from collections.abc import Sequence
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from kopilka.core.audit import Actor
from kopilka.core.errors import DomainError
from kopilka.core.idempotency import FormExpired, form_key, request_fingerprint, run_idempotent
from kopilka.materials.facts import rewards_shown
from kopilka.materials.models import QuizAttempt
from kopilka.materials.quiz import Question, quiz_questions
from kopilka.materials.services import quiz_attempt_record
from kopilka.pos.models import Store
from kopilka.program.engine import Program
from kopilka.program.models import ProgramVersion
from kopilka.program.selectors import program_in_force, program_version
from kopilka.staff.roles import stores_of, till_required
from kopilka.staff.views import STORE_KEY


class QuizForm(forms.Form):
    def __init__(self, questions: Sequence[Question], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for q in questions:
            self.fields[q.key] = forms.TypedChoiceField(
                label=q.text,
                choices=list(enumerate(q.choices)),
                coerce=int,
                widget=forms.RadioSelect,
                error_messages={"required": _("Choose an answer.")},
            )


def _program(request: HttpRequest) -> Program:
    """The version the form was rendered for (its answers are marked against it), else the one
    in force."""
    if request.method != "POST":
        return program_in_force()
    try:
        return program_version(int(request.POST.get("version", "")))
    except (ValueError, ProgramVersion.DoesNotExist):
        raise FormExpired(_("The page is out of date: take the quiz again.")) from None


@till_required
@require_http_methods(["GET", "POST"])
def quiz(request: HttpRequest) -> HttpResponse:
    """The questions; sent, the attempt recorded (in the till's store, if one is chosen)."""
    store = next(
        (s for s in stores_of(request.user) if s.code == request.session.get(STORE_KEY)), None
    )
    refused = ""
    try:
        program = _program(request)
    except FormExpired as expired:
        program, refused = program_in_force(), expired.message
    questions = quiz_questions(program, rewards_shown())
    form = QuizForm(questions, None if refused else request.POST or None)
    attempt = None
    if form.is_bound and form.is_valid():
        try:
            attempt = _record_once(request, store, program, questions, form.cleaned_data)
        except DomainError as refusal:
            refused = refusal.message
    posted = request.POST.get("key", "")
    context = {
        "store": store,
        "form": form,
        "attempt": attempt,
        "missed": [a for a in attempt.answers if not a["correct"]] if attempt else [],
        "refused": refused,
        "key": posted if posted and not refused else uuid.uuid4().hex,
        "version": program.version,
    }
    return render(
        request, "materials/quiz.html", context, status=400 if form.errors or refused else 200
    )


def _record_once(
    request: HttpRequest,
    store: Store | None,
    program: Program,
    questions: Sequence[Question],
    chosen: dict[str, int],
) -> QuizAttempt:
    """One attempt per rendered form: a form sent again is shown the first one's result."""
    key = form_key(request.POST.get("key", ""), _("The page is out of date: take the quiz again."))
    user_id = request.user.pk
    assert user_id is not None  # till_required

    def work() -> tuple[int, dict[str, object]]:
        attempt = quiz_attempt_record(
            user_id=user_id,
            store_id=store.pk if store else None,
            program_version=program.version,
            questions=questions,
            chosen=chosen,
            actor=Actor.staff(request.user),
        )
        return 201, {"attempt": attempt.pk}

    status, body = run_idempotent(
        scope=f"quiz:{user_id}",
        key=key,
        request_hash=request_fingerprint("quiz", program.version),
        work=work,
    )
    if status != 201:
        raise QuizRefused(str(body["error"]["message"]))  # type: ignore[index]
    attempt_id = body["attempt"]
    assert isinstance(attempt_id, int), body
    return QuizAttempt.objects.get(pk=attempt_id, user_id=user_id)


class QuizRefused(DomainError):
    code = "quiz_refused"
