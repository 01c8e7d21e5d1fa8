"""A new program version from the admin: the main figures in a form, or a whole JSON document."""

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.admin.widgets import AdminSplitDateTime
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from kopilka.program.engine.document import decimal_text
from kopilka.program.engine.values import Program

MODE_CHOICES = [
    ("points", _("Bonus points")),
    ("discount", _("Discount card")),
    ("accumulating_discount", _("Accumulating discount")),
]
# The form's fields that are the document's keys of the same name.
DOCUMENT_FIELDS = (
    "mode",
    "name",
    "earn_percent",
    "redeem_max_percent",
    "pending_days",
    "expiry_days",
    "discount_percent",
)
MAX_UPLOAD = 1024 * 1024


def _percent(label: Any, help_text: Any = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        help_text=help_text,
        required=False,
        min_value=Decimal(0),
        max_value=Decimal(100),
        max_digits=5,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01"}),
    )


class ProgramVersionForm(forms.Form):
    """The main figures over the version in force (its rules, levels and exclusions are kept),
    or, when a file is chosen, the file's document as it is."""

    mode = forms.ChoiceField(label=_("Program type"), choices=MODE_CHOICES, required=False)
    name = forms.CharField(label=_("Program name"), max_length=200, required=False)
    earn_percent = _percent(
        # xgettext:no-python-format
        _("Points earned, % of the money paid"),
        _("5 means a purchase of 1,000 ₽ paid in money earns 50 points (1 point = 1 ₽)."),
    )
    redeem_max_percent = _percent(
        # xgettext:no-python-format
        _("Share of a receipt payable with points, %"),
        _("30 means points can pay for at most 300 ₽ of a 1,000 ₽ receipt."),
    )
    pending_days = forms.IntegerField(
        label=capfirst(_("pending days")),
        help_text=_("Days before earned points can be spent; 0 = at once."),
        min_value=0,
        max_value=365,
        required=False,
    )
    expiry_days = forms.IntegerField(
        label=capfirst(_("points valid, days")), min_value=1, max_value=3650, required=False
    )
    # xgettext:no-python-format
    discount_percent = _percent(_("Discount of the discount card, %"))
    file = forms.FileField(
        label=_("Program document (JSON)"),
        required=False,
        help_text=_(
            "A whole document as program_apply reads it (see the README). When a file is "
            "chosen, the program is taken from it and the fields above are not used."
        ),
    )
    effective_from = forms.SplitDateTimeField(
        label=capfirst(_("in force from")),
        required=False,
        widget=AdminSplitDateTime,
        help_text=_("Empty: now. Not in the past: a purchase keeps the version that priced it."),
    )
    note = forms.CharField(label=capfirst(_("note")), max_length=500, required=False)

    def __init__(self, *args: Any, in_force: Program, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.in_force = in_force
        for name in DOCUMENT_FIELDS:
            self.fields[name].initial = getattr(in_force, name)
        for name in ("earn_percent", "redeem_max_percent", "discount_percent"):
            self.fields[name].initial = decimal_text(getattr(in_force, name))

    def clean_file(self) -> object:
        upload = self.cleaned_data.get("file")
        if not upload:
            return None
        if upload.size > MAX_UPLOAD:
            raise forms.ValidationError(_("The file is larger than 1 MB."))
        try:
            return json.loads(upload.read().decode("utf-8"))
        except UnicodeDecodeError:
            raise forms.ValidationError(_("The file is not UTF-8 text.")) from None
        except json.JSONDecodeError as error:
            raise forms.ValidationError(
                _("The file is not JSON: %(error)s (line %(line)d, column %(column)d).")
                % {"error": error.msg, "line": error.lineno, "column": error.colno}
            ) from None

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("file") is None and "file" not in self.errors:
            for name in DOCUMENT_FIELDS:
                if data.get(name) in (None, "") and name not in self.errors:
                    self.add_error(name, forms.Field.default_error_messages["required"])
        return data

    def document(self, base: dict[str, Any]) -> object:
        """The document to create: the file's, or `base` with the form's figures."""
        data = self.cleaned_data
        if data.get("file") is not None:
            return data["file"]
        document = dict(base)
        for name in DOCUMENT_FIELDS:
            value = data[name]
            document[name] = decimal_text(value) if isinstance(value, Decimal) else value
        return document

    def moment(self) -> datetime | None:
        """When the version takes effect (None: now)."""
        value: datetime | None = self.cleaned_data.get("effective_from")
        return value
