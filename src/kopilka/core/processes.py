"""Starting a process of our own (a multiprocessing "spawn" pool's worker) as a Django process.

Imports nothing of Django's models: a spawned worker unpickles its initializer before Django is
set up, so the initializer lives here and sets it up."""

import signal
from typing import Any

import django


def django_process_start(database: dict[str, Any], time_zone: str) -> None:
    """Django set up on the parent's database (a test database included) and time zone; the
    process dies of SIGTERM and SIGINT (a pool's terminate) whatever its parent catches
    (`db_worker` catches both for a graceful stop)."""
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, signal.SIG_DFL)
    django.setup()
    from django.conf import settings
    from django.db import connections

    connections.close_all()
    settings.DATABASES["default"].update(database)  # the dict the connections were given
    settings.TIME_ZONE = time_zone
