"""program_apply FILE.json [--effective-from ISO]: a new version of the program.

The last line of the output is the new version's id alone, for scripts. A file that cannot be
read, is not JSON or is not a valid program exits with status 2 and lists every problem with
its JSON path; nothing is written then.
"""

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kopilka.core.audit import Actor
from kopilka.core.errors import DomainError
from kopilka.program.engine.document import (
    DocumentError,
    document_warnings,
    program_from_document,
)
from kopilka.program.engine.explain import program_explained
from kopilka.program.management.commands._moment import moment_from_text
from kopilka.program.services import program_version_create

BAD_INPUT = 2


class Command(BaseCommand):
    help = (
        "Validate a program document and create a new version of the program from it "
        "(FILE may be - for standard input). Prints the version id alone on the last line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the program document, JSON (- reads standard input)")
        parser.add_argument(
            "--effective-from",
            help="ISO 8601 time the version takes effect (default now; without an offset: "
            "the business time zone). Not in the past.",
        )
        parser.add_argument("--note", default="", help="why this version, for the history")

    def handle(
        self, *args: Any, file: str, effective_from: str | None, note: str, **options: Any
    ) -> None:
        moment = moment_from_text(effective_from, "--effective-from") if effective_from else None
        document = self._read(file)
        try:
            warnings = document_warnings(program_from_document(document))
        except DocumentError as error:
            for path, message in error.problems:
                self.stderr.write(f"{path}: {message}")
            raise CommandError(
                f"{file}: {len(error.problems)} problem(s); nothing was written.",
                returncode=BAD_INPUT,
            ) from None
        for warning in warnings:
            self.stderr.write(self.style.WARNING(f"warning: {warning}"))
        try:
            version = program_version_create(
                actor=Actor.system("program_apply"),
                document=document,
                effective_from=moment,
                note=note,
            )
        except DomainError as error:
            raise CommandError(error.message, returncode=BAD_INPUT) from None
        program = program_from_document(version.document, version=version.pk)
        self.stdout.write(
            f"Program version {version.pk} «{program.name}», in force from "
            f"{version.effective_from.isoformat()}:"
        )
        for sentence in program_explained(program):
            self.stdout.write(f"  {sentence}")
        self.stdout.write(str(version.pk))

    def _read(self, file: str) -> object:
        try:
            text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"{file}: cannot be read: {error}", returncode=BAD_INPUT) from None
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise CommandError(
                f"{file}: not JSON: {error.msg} at line {error.lineno}, column {error.colno}",
                returncode=BAD_INPUT,
            ) from None
