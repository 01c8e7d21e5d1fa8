"""`manage.py materials_render`: the materials page's own PDFs, written to a file from the
program in force, for a store and a language."""

import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from kopilka.pos.models import Store
from tests.conftest import Api, program_set
from tests.materials.test_materials import marketer, text_of

pytestmark = pytest.mark.django_db
KINDS = ("poster", "table-tent", "flyer", "cheat-sheet")


def render(tmp_path: Path, kind: str, *args: str) -> str:
    """The text of the PDF the command wrote."""
    out = tmp_path / f"{kind}.pdf"
    call_command("materials_render", "--kind", kind, "--store", "central", *args, "--out", str(out))
    return text_of(out.read_bytes())


def says_percent(text: str, percent: int) -> bool:
    return re.search(rf"(?<![\d.,]){percent}\s?%", text) is not None


def test_each_kind_says_the_programs_earn_rate_and_follows_its_change(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    program_set(earn_percent="7")
    for kind in KINDS:
        assert says_percent(render(tmp_path, kind), 7), kind
        assert f"{tmp_path / kind}.pdf: 1" in capsys.readouterr().out  # the path and the pages
    program_set(earn_percent="4")
    for kind in KINDS:
        text = render(tmp_path, kind)
        assert says_percent(text, 4) and not says_percent(text, 7), kind
    assert "4 % back in points on every purchase" in render(tmp_path, "flyer", "--lang", "en")


def test_the_file_is_the_one_the_materials_page_serves(api: Api, tmp_path: Path) -> None:
    program_set(earn_percent="6")
    client: Client = marketer()
    for kind, slug in (("table-tent", "tent"), ("cheat-sheet", "cheatsheet")):
        text = render(tmp_path, kind)
        served = client.get(f"/backoffice/materials/{slug}.pdf?store=central&lang=ru")
        assert text == text_of(served.content), kind


def test_an_unknown_store_or_kind_is_refused(api: Api, tmp_path: Path) -> None:
    Store.objects.create(code="arbat", name="Арбат")
    out = tmp_path / "x.pdf"
    with pytest.raises(CommandError, match=r"nowhere.*arbat, central"):
        call_command(
            "materials_render", "--kind", "poster", "--store", "nowhere", "--out", str(out)
        )
    with pytest.raises(CommandError, match="arbat, central"):
        call_command("materials_render", "--kind", "poster", "--out", str(out))
    with pytest.raises(CommandError, match="invalid choice"):
        call_command(
            "materials_render", "--kind", "banner", "--store", "central", "--out", str(out)
        )
    assert not out.exists()
    call_command("materials_render", "--kind", "cheat-sheet", "--out", str(out))  # no store needed
    assert out.read_bytes().startswith(b"%PDF")
