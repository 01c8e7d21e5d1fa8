"""The embedded defaults for SMS and Telegram: `outbox/sms.jsonl` (`outbox/telegram.jsonl`) in
the var directory, one JSON object per message sent (`id`, `to`, `text`, `parts`, `purpose`,
`trigger`, `member_id`, `created_at`).

Exactly once: a line is appended and flushed under an exclusive lock of the file, and a message
taken over after a crash mid-send is first looked up in the file by its id.
"""

import fcntl
import json
import os
from pathlib import Path

from django.conf import settings

from kopilka.core import clock
from kopilka.messaging.channels import Outgoing, SendFailed, Sent
from kopilka.messaging.sms import sms_length


def outbox_path(file_name: str = "sms.jsonl") -> Path:
    return Path(settings.KOPILKA_VAR_DIR) / "outbox" / file_name


def _line(message: Outgoing, parts: int, at: str) -> str:
    fields = {
        "id": message.message_id,
        "to": message.to,
        "text": message.text,
        "parts": parts,
        "purpose": message.purpose,
        "trigger": message.trigger,
        "member_id": message.member_id,
        "created_at": at,
    }
    return json.dumps(fields, ensure_ascii=False) + "\n"


class FileOutbox:
    name = "file"
    file_name = "sms.jsonl"

    def parts(self, message: Outgoing) -> int:
        return sms_length(message.text).parts

    def send(self, message: Outgoing) -> Sent:
        (sent,) = self.send_many([message])
        assert isinstance(sent, Sent)
        return sent

    def send_many(self, messages: list[Outgoing]) -> list[Sent | SendFailed]:
        """All lines appended and flushed under one lock of the file, then one fsync."""
        at = clock.now().isoformat()
        results: list[Sent | SendFailed] = []
        lines = []
        for message in messages:
            parts = self.parts(message)
            lines.append(_line(message, parts, at))
            results.append(Sent(self.name, str(message.message_id), parts))
        if not lines:
            return results
        path = outbox_path(self.file_name)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            fcntl.flock(out, fcntl.LOCK_EX)
            try:
                out.write("".join(lines))
                out.flush()
                os.fsync(out.fileno())
            finally:
                fcntl.flock(out, fcntl.LOCK_UN)
        return results

    def already_sent(self, message: Outgoing) -> Sent | None:
        path = outbox_path(self.file_name)
        if not path.exists():
            return None
        marker = f'{{"id": {message.message_id}, '
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if line.startswith(marker):
                    return Sent(self.name, str(message.message_id), json.loads(line)["parts"])
        return None


class FileSms(FileOutbox):
    """SMS to `outbox/sms.jsonl`, with the parts the text takes."""


class FileTelegram(FileOutbox):
    """Telegram without a bot token: `outbox/telegram.jsonl` (`to` is the chat id)."""

    file_name = "telegram.jsonl"

    def parts(self, message: Outgoing) -> int:
        return 0
