"""What the materials app writes: a training quiz attempt, marked, with its audit row."""

from collections.abc import Mapping, Sequence

from django.db import transaction

from kopilka.core import clock
from kopilka.core.audit import Actor, audit_record
from kopilka.materials.models import QuizAttempt
from kopilka.materials.quiz import Question, quiz_marked


@transaction.atomic
def quiz_attempt_record(
    *,
    user_id: int,
    store_id: int | None,
    program_version: int,
    questions: Sequence[Question],
    chosen: Mapping[str, int],
    actor: Actor,
) -> QuizAttempt:
    """Mark the choices made (question key -> index of the choice) and record the attempt."""
    score, answers = quiz_marked(questions, chosen)
    attempt = QuizAttempt.objects.create(
        user_id=user_id,
        store_id=store_id,
        program_version=program_version,
        score=score,
        total=len(questions),
        answers=answers,
        taken_at=clock.now(),
    )
    audit_record(
        actor=actor,
        action="quiz.taken",
        target_type="quiz_attempt",
        target_id=attempt.pk,
        data={"score": score, "total": attempt.total, "program_version": program_version},
    )
    return attempt
