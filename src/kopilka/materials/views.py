"""The printed materials page in the back office: choose the three facts, preview every
material for every store in Russian and English, download the PDF."""

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from kopilka.materials.cheatsheet import common_questions, how_it_works, what_to_say
from kopilka.materials.facts import chosen_facts, program_facts
from kopilka.materials.models import MaterialsChoice
from kopilka.materials.pdf import KINDS, cheatsheet_pdf, png_preview, promo_pdf
from kopilka.pos.models import Store
from kopilka.program.selectors import program_in_force
from kopilka.staff.roles import materials_required, stores_of

LANGUAGES = ("ru", "en")
LABELS = {"poster": _("A4 poster"), "tent": _("A6 table tent"), "flyer": _("A5 flyer")}


class FactsForm(forms.Form):
    facts = forms.MultipleChoiceField(
        label=_("The three facts the materials lead with"), widget=forms.CheckboxSelectMultiple
    )

    def clean_facts(self) -> list[str]:
        chosen: list[str] = self.cleaned_data["facts"]
        if len(chosen) != 3:
            raise forms.ValidationError(_("Choose exactly three."))
        return chosen


def _choice() -> MaterialsChoice:
    return MaterialsChoice.objects.order_by("pk").first() or MaterialsChoice.objects.create()


@materials_required
@require_http_methods(["GET", "POST"])
def materials(request: HttpRequest) -> HttpResponse:
    program = program_in_force()
    choice = _choice()
    form = FactsForm(request.POST or None, initial={"facts": choice.facts})
    form.fields["facts"].choices = [(f.key, f.text) for f in program_facts(program)]  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        choice.facts = form.cleaned_data["facts"]
        choice.save()
        return redirect("backoffice:materials")
    context = {
        "section": "materials",
        "form": form,
        "shown": chosen_facts(program, choice.facts),
        "stores": stores_of(request.user),
        "kinds": list(LABELS.items()),
        "languages": LANGUAGES,
    }
    return render(request, "materials/materials.html", context, status=400 if form.errors else 200)


def material_pdf(kind: str, store: Store | None, language: str) -> bytes:
    """One material from the program in force: the cheat-sheet, or a store's poster, table tent
    or flyer with the marketer's facts (this page's and `manage.py materials_render`'s file)."""
    program = program_in_force()
    if kind == "cheatsheet":
        with translation.override(language):
            how, say, answers = (
                how_it_works(program),
                what_to_say(program),
                common_questions(program),
            )
        return cheatsheet_pdf(program, how, say, answers, language)
    assert store is not None, kind
    with translation.override(language):
        facts = chosen_facts(program, _choice().facts)
    return promo_pdf(kind, program, facts, store, language)


@materials_required
def material(request: HttpRequest, kind: str, fmt: str) -> HttpResponse:
    """One material as PDF or as the PNG of its first page (`?store=code&lang=ru|en`)."""
    language = request.GET.get("lang", "ru")
    if kind not in KINDS or fmt not in ("pdf", "png") or language not in LANGUAGES:
        raise Http404
    store = None
    if kind == "cheatsheet":
        name = f"kopilka-cheatsheet-{language}"
    else:
        store = next(
            (s for s in stores_of(request.user) if s.code == request.GET.get("store")), None
        )
        if store is None:
            raise Http404
        name = f"kopilka-{kind}-{store.code}-{language}"
    body = material_pdf(kind, store, language)
    if fmt == "png":
        return HttpResponse(png_preview(body), content_type="image/png")
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{name}.pdf"'
    return response
