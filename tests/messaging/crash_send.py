"""Run by test_worker_processes.py in a separate process: one round of the sender, which
SIGKILLs itself after the channel wrote the round's messages and before they are marked sent."""

import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kopilka.settings")

import django  # noqa: E402

django.setup()

from kopilka.messaging import services  # noqa: E402


def die(*args: object) -> None:
    os.kill(os.getpid(), signal.SIGKILL)  # the outbox has the lines; the rows say "sending"


services._finish = die  # type: ignore[assignment]
services.messages_send_due(limit=int(sys.argv[1]))
sys.exit(3)  # not reached
