from decimal import Decimal

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from kopilka.core.money import parse_rubles

LINES = 4  # rows of the receipt form


class FindForm(forms.Form):
    """One field for a phone, a card number or the card's QR code: a keyboard-wedge scanner
    types into it and presses Enter."""

    q = forms.CharField(
        label=_("Phone, card number or scanned code"),
        max_length=100,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
    )


class ReceiptForm(forms.Form):
    """A single total, or lines by SKU from the store's products; what to pay with points."""

    total = forms.CharField(label=_("Receipt total, ₽"), max_length=20, required=False)
    redeem = forms.ChoiceField(
        label=_("Pay with points"),
        choices=[
            ("none", _("none")),
            ("max", _("as much as allowed")),
            ("points", _("this many:")),
        ],
        initial="none",
        widget=forms.RadioSelect,
    )
    points = forms.IntegerField(
        label=_("Points"),
        min_value=1,
        max_value=10**7,
        required=False,
        widget=forms.NumberInput(attrs={"aria-label": _("Points to pay with")}),
    )
    receipt_number = forms.CharField(label=_("Receipt number"), max_length=64, required=False)

    def __init__(self, *args: object, products: dict[str, tuple[str, str, int]], **kw: object):
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.products = products
        choices = [("", "—")] + [
            (sku, f"{name} ({sku})") for sku, (name, _c, _p) in sorted(products.items())
        ]
        for i in range(LINES):
            row = i + 1  # the table's column heads name the fields; each says its row too
            self.fields[f"sku_{i}"] = forms.ChoiceField(
                label=_("Product"),
                choices=choices,
                required=False,
                widget=forms.Select(attrs={"aria-label": format_lazy("{} {}", _("Product"), row)}),
            )
            self.fields[f"qty_{i}"] = forms.DecimalField(
                label=_("Quantity"), min_value=Decimal("0.001"), max_digits=9, decimal_places=3,
                required=False,
                widget=forms.NumberInput(
                    attrs={"aria-label": format_lazy("{} {}", _("Quantity"), row), "step": "any"}
                ),
            )  # fmt: skip

    def line_rows(self) -> list[tuple[str, str, str, Decimal, int]]:
        """(sku, name, category, quantity, price) of each line filled in."""
        rows = []
        for i in range(LINES):
            sku = self.cleaned_data.get(f"sku_{i}")
            if sku:
                name, category, price = self.products[sku]
                rows.append(
                    (sku, name, category, self.cleaned_data.get(f"qty_{i}") or Decimal(1), price)
                )
        return rows

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        total = str(data.get("total") or "").strip()
        if total:
            try:
                kopecks = parse_rubles(
                    total.replace(" ", "").replace("\u00a0", "").replace(",", ".")
                )
            except ValueError:
                kopecks = 0
            if kopecks > 0:
                data["total_kopecks"] = kopecks
            else:
                self.add_error("total", _("Enter the amount in rubles, like 450 or 450,50."))
        if not total and not any(data.get(f"sku_{i}") for i in range(LINES)):
            raise forms.ValidationError(_("Enter the receipt total or at least one product."))
        if data.get("redeem") == "points" and not data.get("points"):
            self.add_error("points", _("How many points?"))
        return data


class TillJoinForm(forms.Form):
    """Enrolment at the till: the member says the phone and the name and gives the consents
    aloud or on the screen; the code sent to the phone proves it."""

    phone = forms.CharField(
        label=_("Phone"),
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off", "autofocus": True}),
    )
    name = forms.CharField(label=_("Member's name"), max_length=200, required=False)
    personal_data = forms.BooleanField(
        label=_("The member consents to the processing of their personal data"),
        error_messages={"required": _("Without this consent we cannot keep the card.")},
    )
    sms_marketing = forms.BooleanField(
        label=_("The member wants SMS with offers and news"), required=False
    )


class TillCodeForm(forms.Form):
    code = forms.RegexField(
        label=_("Code from the member's SMS"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": _("The code is 6 digits.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autofocus": True}),
    )


class PeriodForm(forms.Form):
    since = forms.DateField(
        label=_("From"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    until = forms.DateField(
        label=_("To"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end of the period is before its start."))
        return data


class AuditFilter(forms.Form):
    person = forms.CharField(label=_("Who"), max_length=150, required=False)
    target = forms.CharField(
        label=_("What"),
        max_length=80,
        required=False,
        help_text=_("a kind and maybe an id: “member 42”, “reward”, “programversion 3”"),
    )
    since = forms.DateField(
        label=_("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    until = forms.DateField(
        label=_("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
