"""The program in force, read from its versions and cached per process.

Every receipt asks for the program, so the list of versions (effective time and id only) is read
at most once per `KOPILKA_RULES_CACHE_SECONDS` and each version's program once per process: a
version never changes. Because the list, not "the current one", is cached, a version created
with a future `effective_from` takes over at that moment in every process, without waiting.
"""

import time
from bisect import bisect_right
from datetime import datetime

from django.conf import settings

from kopilka.core import clock
from kopilka.program.engine.document import program_from_document
from kopilka.program.engine.values import Program
from kopilka.program.models import ProgramVersion

_DEFAULT = Program()
# (monotonic time read, effective_from of each version in order, their ids in the same order)
_versions: tuple[float, list[datetime], list[int]] | None = None
_programs: dict[int, Program] = {}


def _version_list() -> tuple[list[datetime], list[int]]:
    global _versions
    cached = _versions
    if cached is not None and time.monotonic() - cached[0] < settings.KOPILKA_RULES_CACHE_SECONDS:
        return cached[1], cached[2]
    rows = list(
        ProgramVersion.objects.order_by("effective_from", "pk").values_list("effective_from", "pk")
    )
    times = [effective_from for effective_from, _pk in rows]
    ids = [pk for _effective_from, pk in rows]
    _versions = (time.monotonic(), times, ids)
    return times, ids


def _in_force(at: datetime | None) -> tuple[int, datetime] | None:
    times, ids = _version_list()
    index = bisect_right(times, at if at is not None else clock.now())
    # of two versions with the same effective_from, the later created (higher id) is in force
    return (ids[index - 1], times[index - 1]) if index else None


def program_in_force(at: datetime | None = None) -> Program:
    """The program in force at `at` (default now): the latest version whose effective_from is
    not after it; `Program()` (version 0) when there is none."""
    found = _in_force(at)
    return _DEFAULT if found is None else program_version(found[0])


def program_in_force_since(at: datetime | None = None) -> tuple[Program, datetime | None]:
    """The program in force at `at` and the time it took effect (None: the built-in default)."""
    found = _in_force(at)
    if found is None:
        return _DEFAULT, None
    return program_version(found[0]), found[1]


def program_version(version_id: int) -> Program:
    """The program of one version: 0 is the built-in default (never stored), any other id a
    stored version (ProgramVersion.DoesNotExist if there is none)."""
    if version_id == _DEFAULT.version:
        return _DEFAULT
    program = _programs.get(version_id)
    if program is None:
        document = ProgramVersion.objects.values_list("document", flat=True).get(pk=version_id)
        program = program_from_document(document, version=version_id)
        _programs[version_id] = program
    return program


def program_cache_clear() -> None:
    """Forget the list of versions (a new one was created). Stored programs stay: immutable."""
    global _versions
    _versions = None
    # Tests roll back the rows they created, so an id can come back with another document.
    _programs.clear()
