from pathlib import Path
from typing import Any

import pypdfium2
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kopilka.materials.views import LANGUAGES, material_pdf
from kopilka.pos.models import Store

# The option's names -> the materials page's
KINDS = {"poster": "poster", "table-tent": "tent", "flyer": "flyer", "cheat-sheet": "cheatsheet"}


class Command(BaseCommand):
    help = (
        "Render a printed material to a PDF file: the same file the back office's materials "
        "page serves, from the program in force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", required=True, choices=list(KINDS))
        parser.add_argument("--store", help="the store's code (not needed for the cheat-sheet)")
        parser.add_argument("--lang", choices=LANGUAGES, default="ru")
        parser.add_argument("--out", required=True, type=Path, help="the PDF file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        kind, code, out = KINDS[options["kind"]], options["store"], options["out"]
        store = Store.objects.filter(code=code).first() if code else None
        if store is None and (code or kind != "cheatsheet"):
            codes = ", ".join(Store.objects.order_by("code").values_list("code", flat=True))
            codes = codes or _("none yet")
            if not code:
                raise CommandError(_("Give --store, one of: %(codes)s.") % {"codes": codes})
            raise CommandError(
                _("No store with the code “%(code)s”; the stores: %(codes)s.")
                % {"code": code, "codes": codes}
            )
        body = material_pdf(kind, store, options["lang"])
        out.write_bytes(body)
        pages = len(pypdfium2.PdfDocument(body))
        self.stdout.write(
            ngettext("%(path)s: %(pages)s page", "%(path)s: %(pages)s pages", pages)
            % {"path": out, "pages": pages}
        )
