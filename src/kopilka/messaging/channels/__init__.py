"""Channels: one interface, a backend per channel chosen by settings.

A channel sends one message and says what the provider answered; it decides nothing (consent,
quiet hours and caps are the sender's, `messaging.services`).
"""

from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class Outgoing:
    """What a channel needs to send: resolved by the sender at send time."""

    message_id: int
    to: str
    text: str
    subject: str
    purpose: str
    trigger: str
    member_id: int | None  # None: a code to someone joining
    language: str
    unsubscribe_url: str  # marketing only; "" otherwise


@dataclass(frozen=True)
class Sent:
    provider: str
    provider_message_id: str
    parts: int = 0


class SendFailed(Exception):
    """The provider refused or could not be reached; `permanent` ones are not retried."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason[:300]
        self.permanent = permanent


class Channel(Protocol):
    name: str

    def send(self, message: Outgoing) -> Sent: ...

    def send_many(self, messages: list[Outgoing]) -> list[Sent | SendFailed]:
        """Each message's result, in order: a channel may send a batch at once."""
        ...

    def already_sent(self, message: Outgoing) -> Sent | None:
        """After a crash mid-send: the earlier attempt's result if the channel can tell."""
        ...


def channel_for(channel: str) -> Channel:
    path = settings.KOPILKA_CHANNELS[channel]
    backend: Channel = import_string(path)()
    return backend


class OneByOne:
    """What a channel that sends one message per call and cannot tell afterwards whether a
    message went out (SMTP, the HTTP providers) has: `send_many` in a loop, `already_sent` never."""

    def send(self, message: Outgoing) -> Sent:
        raise NotImplementedError

    def send_many(self, messages: list[Outgoing]) -> list[Sent | SendFailed]:
        results: list[Sent | SendFailed] = []
        for message in messages:
            try:
                results.append(self.send(message))
            except SendFailed as failure:
                results.append(failure)
        return results

    def already_sent(self, message: Outgoing) -> Sent | None:
        return None
