"""Reads of the outbox's templates."""

from kopilka.messaging.models import MessageTemplate


def template_get(name: str, channel: str, language: str) -> MessageTemplate | None:
    return MessageTemplate.objects.filter(name=name, channel=channel, language=language).first()
