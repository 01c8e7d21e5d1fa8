"""The printed materials as PDF (fpdf2), from the program in force: an A4 poster, an A6 table
tent, an A5 flyer (the three chosen facts, how to join in one line, the store's join QR code and
the Telegram bot's when there is one) and an A4 cheat-sheet for the staff. A PNG of the first
page previews each (pypdfium2). Fonts: DejaVu, shipped with matplotlib (Cyrillic included)."""

import io
import logging
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import pypdfium2
import segno
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from fpdf import FPDF

from kopilka.materials.facts import Fact
from kopilka.pos.models import Store
from kopilka.program.engine import Program

FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
# fpdf2's font subsetting logs every table it prunes at INFO: dozens of lines a PDF.
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)
GREEN = (11, 110, 79)
INK = (29, 36, 48)
MUTED = (86, 98, 115)


A4, A5, A6 = (210.0, 297.0), (148.0, 210.0), (105.0, 148.0)  # mm, portrait


@dataclass(frozen=True)
class Format:
    size: tuple[float, float]
    orientation: str
    title_pt: int
    fact_pt: int
    qr_mm: int


FORMATS = {
    "poster": Format(A4, "P", 44, 26, 70),
    "tent": Format(A6, "L", 20, 12, 34),
    "flyer": Format(A5, "P", 30, 16, 48),
}
KINDS = (*FORMATS, "cheatsheet")


def join_url(store: Store) -> str:
    return settings.KOPILKA_PUBLIC_URL + reverse("portal:join-store", args=[store.code])


def _document(size: tuple[float, float], orientation: str) -> FPDF:
    pdf = FPDF(orientation=orientation, unit="mm", format=size)
    pdf.set_auto_page_break(auto=True, margin=10)
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_creator("Kopilka")
    pdf.add_page()
    return pdf


def _qr(pdf: FPDF, url: str, x: float, y: float, size: float) -> None:
    out = io.BytesIO()
    segno.make_qr(url, error="m").save(out, kind="png", scale=10, border=2)
    out.seek(0)
    pdf.image(out, x=x, y=y, w=size, h=size)


def promo_pdf(kind: str, program: Program, facts: list[Fact], store: Store, language: str) -> bytes:
    """The poster, the table tent or the flyer of a store, in a language."""
    f = FORMATS[kind]
    with translation.override(language):
        pdf = _document(f.size, f.orientation)
        pdf.set_title(_("%(program)s loyalty program") % {"program": program.name})
        width = pdf.w - 2 * pdf.l_margin
        pdf.set_fill_color(*GREEN)
        pdf.rect(0, 0, pdf.w, f.title_pt * 0.9, style="F")
        pdf.set_text_color(255, 255, 255)
        pdf.set_font("DejaVu", "B", f.title_pt)
        pdf.set_xy(pdf.l_margin, f.title_pt * 0.15)
        pdf.cell(width, f.title_pt * 0.6, program.name, align="C")
        pdf.set_text_color(*INK)
        pdf.set_y(f.title_pt * 0.9 + 6)
        pdf.set_font("DejaVu", "B", f.fact_pt)
        for fact in facts:
            pdf.set_x(pdf.l_margin)
            pdf.multi_cell(width, f.fact_pt * 0.5, f"• {fact.text}", align="L")
            pdf.ln(f.fact_pt * 0.15)
        pdf.ln(f.fact_pt * 0.2)
        pdf.set_font("DejaVu", "B", int(f.fact_pt * 0.8))
        pdf.set_text_color(*GREEN)
        pdf.set_x(pdf.l_margin)
        pdf.multi_cell(width, f.fact_pt * 0.45, _("Join in a minute, right now:"), align="C")
        qr_y = pdf.get_y() + 3
        qr_mm = min(f.qr_mm, pdf.h - qr_y - 14)  # one page: the code shrinks to fit, never moves on
        pdf.set_auto_page_break(auto=False)
        bot = settings.KOPILKA_TELEGRAM_BOT
        codes = [(join_url(store), _("Join: scan, enter the phone and the code from the SMS"))]
        if bot:
            codes.append((f"https://t.me/{bot}", _("Your points in Telegram")))
        step = width / len(codes)
        for i, (url, caption) in enumerate(codes):
            x = pdf.l_margin + i * step + (step - qr_mm) / 2
            _qr(pdf, url, x, qr_y, qr_mm)
            pdf.set_xy(pdf.l_margin + i * step, qr_y + qr_mm + 1)
            pdf.set_font("DejaVu", "", max(7, f.fact_pt // 2))
            pdf.set_text_color(*MUTED)
            pdf.multi_cell(step, max(7, f.fact_pt // 2) * 0.45, caption, align="C")
        return bytes(pdf.output())


def cheatsheet_pdf(
    program: Program, how: list[str], say: list[str], answers: list[tuple[str, str]], language: str
) -> bytes:
    """One A4 page for the staff: how it works, what to say, the ten common questions."""
    with translation.override(language):
        pdf = _document(A4, "P")
        pdf.set_title(_("Cheat-sheet for the staff"))
        width = pdf.w - 2 * pdf.l_margin
        pdf.set_font("DejaVu", "B", 16)
        pdf.set_text_color(*GREEN)
        pdf.multi_cell(
            width, 8, _("Cheat-sheet: %(program)s") % {"program": program.name}, align="L"
        )
        for title, lines in ((_("How it works"), how), (_("What to say at the till"), say)):
            pdf.ln(2)
            pdf.set_font("DejaVu", "B", 11)
            pdf.set_text_color(*INK)
            pdf.multi_cell(width, 6, title, align="L")
            pdf.set_font("DejaVu", "", 9)
            for line in lines:
                pdf.set_x(pdf.l_margin)
                pdf.multi_cell(width, 4.6, f"• {line}", align="L")
        pdf.ln(2)
        pdf.set_font("DejaVu", "B", 11)
        pdf.multi_cell(width, 6, _("The ten common questions"), align="L")
        for question, answer in answers:
            pdf.set_font("DejaVu", "B", 8.5)
            pdf.set_x(pdf.l_margin)
            pdf.multi_cell(width, 4.2, question, align="L")
            pdf.set_font("DejaVu", "", 8.5)
            pdf.set_x(pdf.l_margin)
            pdf.multi_cell(width, 4.2, answer, align="L")
        return bytes(pdf.output())


def png_preview(pdf: bytes, width_px: int = 700) -> bytes:
    document = pypdfium2.PdfDocument(pdf)
    page = document[0]
    scale = width_px / page.get_width()
    image = page.render(scale=scale).to_pil()
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
