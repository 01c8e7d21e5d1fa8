import json
import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from kopilka.core import clock
from kopilka.core.commands import option_date
from kopilka.program.engine.document import DocumentError, program_from_document
from kopilka.program.simulation import default_period, simulate


class Command(BaseCommand):
    help = (
        "Что было бы, если бы: настоящие покупки периода (по умолчанию последние 12 месяцев) "
        "под версиями, что действовали, и под черновиком; JSON со сравнением. / What-if: the "
        "period's real purchases under the live versions and under a draft, compared as JSON."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--draft", required=True, help="the draft program document, JSON")
        parser.add_argument("--since", help="YYYY-MM-DD, the first day")
        parser.add_argument("--until", help="YYYY-MM-DD, the day after the last")
        parser.add_argument(
            "--workers",
            type=int,
            help="processes replaying disjoint sets of members (default: the CPUs on "
            "PostgreSQL, 1 on SQLite)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            document = json.loads(Path(options["draft"]).read_text(encoding="utf-8"))
            draft = program_from_document(document)
        except OSError as exc:
            raise CommandError(f"{options['draft']}: {exc.strerror}") from exc
        except json.JSONDecodeError as exc:
            raise CommandError(
                f"{options['draft']}: not JSON ({exc.msg}, line {exc.lineno})"
            ) from exc
        except DocumentError as exc:
            raise CommandError(f"{options['draft']}:\n{exc}") from exc
        since, until = default_period(clock.business_date(clock.now()))
        if first := option_date(options["since"], "--since"):
            since = clock.start_of_business_day(first)
        if after := option_date(options["until"], "--until"):
            until = clock.start_of_business_day(after)
        if until <= since:
            raise CommandError("--until must be after --since")
        # Other processes see only committed data: inside a transaction (a test) one process.
        parallel = connection.vendor == "postgresql" and not connection.in_atomic_block
        workers = options["workers"] or ((os.cpu_count() or 1) if parallel else 1)
        if workers < 1 or (workers > 1 and not parallel):
            raise CommandError(
                "--workers must be 1 on SQLite or inside a transaction, at least 1 on PostgreSQL"
            )
        result = simulate(draft, since=since, until=until, workers=workers)
        self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))
