"""The marketer console's program forms: every part of the program document as plain fields.

The forms only carry what was typed into the document's shape; the document reader
(`program_from_document`) is the one judge of what a program may be, and each problem it
finds (`rules[2].then.earn_multiplier: must be greater than 0`) is shown under the field it
came from. Parts of the document the forms do not show (a bonus's own expiry, birthday days)
are kept from the version in force.
"""

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kopilka.program.engine.document import (
    ACTIONS,
    WHEN_KEYS,
    DocumentError,
    program_from_document,
)
from kopilka.program.engine.values import Program

MODES = [
    ("points", _("Bonus points: a share of each purchase comes back as points")),
    ("discount", _("Discount card: the same discount on every purchase")),
    ("accumulating_discount", _("Accumulating discount: the discount grows with purchases")),
]
COMBINES = [
    ("stack", _("adds up with the other offers")),
    ("best", _("only the best of the “best” offers on an item")),
    ("exclusive", _("replaces every other offer on the item")),
]
EFFECTS = [
    ("earn_multiplier", _("points × (multiplier)")),
    # xgettext:no-python-format
    ("earn_percent", _("points, % of the money paid (instead of the base rate)")),
    ("points_per_unit", _("points per unit bought")),
    ("bonus_points", _("bonus points once per receipt")),
    # xgettext:no-python-format
    ("discount_percent", _("discount, %")),
]
WEEKDAYS = [
    (1, _("Mon")),
    (2, _("Tue")),
    (3, _("Wed")),
    (4, _("Thu")),
    (5, _("Fri")),
    (6, _("Sat")),
    (7, _("Sun")),
]
ACTION_LABELS = {
    "earn": _("no points earned"),
    "discount": _("no discounts"),
    "redeem": _("cannot be paid with points"),
}
# The document's bonus figures the main form shows: (kind, key) -> field.
BONUS_FIELDS = {
    ("welcome", "points"): "welcome_points",
    ("birthday", "points"): "birthday_points",
    ("profile_completed", "points"): "profile_points",
    ("referral", "referrer_points"): "referrer_points",
    ("referral", "friend_points"): "friend_points",
}
MAIN_KEYS = (
    "mode",
    "name",
    "point_value",
    "earn_percent",
    "redeem_max_percent",
    "pending_days",
    "expiry_days",
    "discount_percent",
    "tier_window_days",
    "tier_grace_days",
)
DECIMAL_KEYS = ("point_value", "earn_percent", "redeem_max_percent", "discount_percent")
LIMIT_FIELDS = {"per_member_per_day": "per_day", "per_member_per_month": "per_month"}
PATH = re.compile(r"(?P<part>\w+)(?:\[(?P<row>\d+)\])?(?:\.(?P<key>[^.\[]+))?(?:\.(?P<sub>\w+))?")
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def _number(label: Any, help_text: Any = "", *, required: bool = True) -> forms.CharField:
    """A decimal typed as people type it ("5", "2,5"): the document reader judges its value."""
    return forms.CharField(
        label=label,
        help_text=help_text,
        required=required,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 8}),
    )


def _whole(label: Any, help_text: Any = "", *, required: bool = False) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        help_text=help_text,
        required=required,
        widget=forms.NumberInput(attrs={"min": 0, "step": 1}),
    )


def _decimal_text(value: str) -> str:
    return value.strip().replace(",", ".").replace(" ", "").replace("\u00a0", "")


def _codes(value: str) -> list[str]:
    """ "coffee, tea" -> ["coffee", "tea"] (commas or spaces between codes)."""
    return [code for code in re.split(r"[\s,;]+", value.strip()) if code]


class MainForm(forms.Form):
    mode = forms.ChoiceField(label=_("Program type"), choices=MODES, widget=forms.RadioSelect)
    name = forms.CharField(
        label=_("Program name"),
        max_length=200,
        help_text=_("What members and cashiers call it: on the card, the portal and posters."),
    )
    point_value = _number(
        _("One point pays, ₽"), _("1 means a member pays 1 ₽ of a receipt with each point.")
    )
    earn_percent = _number(
        # xgettext:no-python-format
        _("Points earned, % of the money paid"),
        _("5 means a purchase of 1,000 ₽ paid in money earns 50 points (1 point = 1 ₽)."),
    )
    redeem_max_percent = _number(
        # xgettext:no-python-format
        _("Share of a receipt payable with points, %"),
        _("30 means points can pay for at most 300 ₽ of a 1,000 ₽ receipt."),
    )
    pending_days = _whole(
        _("Days before earned points can be spent"),
        _("0: at once. A few days keep points of a purchase that comes back from being spent."),
        required=True,
    )
    expiry_days = _whole(
        _("Points valid, days"),
        _("Each purchase's points burn this many days after it; members are warned before."),
        required=True,
    )
    discount_percent = _number(
        # xgettext:no-python-format
        _("Discount of the discount card, %"),
        _("Only for the discount card type."),
    )
    tier_window_days = _whole(
        _("Tier spend is counted over, days"),
        _("365: a member's tier follows what they spent in the last year."),
        required=True,
    )
    tier_grace_days = _whole(_("Days a member keeps a tier after falling short"), required=True)
    welcome_points = _whole(_("Welcome bonus, points"), _("Empty or 0: none."))
    birthday_points = _whole(_("Birthday bonus, points"), _("Empty or 0: none."))
    profile_points = _whole(_("Bonus for a completed profile, points"), _("Empty or 0: none."))
    referrer_points = _whole(
        _("Referral: points for the member who invited"),
        _("Both referral figures, or neither."),
    )
    friend_points = _whole(_("Referral: points for the invited friend"))
    effective_from = forms.DateTimeField(
        label=_("In force from"),
        required=False,
        input_formats=[DATETIME_LOCAL],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
        help_text=_("Empty: now. A receipt keeps the version that priced it, returns included."),
    )
    note = forms.CharField(
        label=_("What changed and why"),
        max_length=500,
        required=False,
        help_text=_("For the version history and the audit log."),
    )


class LevelForm(forms.Form):
    from_spend = _number(_("From total purchases, ₽"))
    # xgettext:no-python-format
    percent = _number(_("Discount, %"))


class TierForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=64, help_text=_("e.g. gold"))
    name = forms.CharField(label=_("Tier name"), max_length=200)
    qualify_spend = _number(_("Spend to reach it, ₽"))
    earn_multiplier = _number(_("Points ×"), required=False)
    # xgettext:no-python-format
    redeem_max_percent = _number(_("Cap of paying with points, %"), required=False)
    # xgettext:no-python-format
    discount_percent = _number(_("Extra discount, %"), required=False)
    privileges = forms.CharField(
        label=_("Privileges, one per line"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("What cashiers say and the portal shows: “Coffee without a queue”."),
    )


class ExclusionForm(forms.Form):
    category = forms.CharField(label=_("Category"), max_length=100)
    earn = forms.BooleanField(label=ACTION_LABELS["earn"], required=False)
    discount = forms.BooleanField(label=ACTION_LABELS["discount"], required=False)
    redeem = forms.BooleanField(label=ACTION_LABELS["redeem"], required=False)


class RuleForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=64,
        help_text=_("Latin letters, digits and dashes; stays with the purchases it priced."),
    )
    name = forms.CharField(
        label=_("Offer name"),
        max_length=200,
        help_text=_("What the member reads: “Morning coffee ×2”."),
    )
    effect = forms.ChoiceField(label=_("Gives"), choices=EFFECTS, initial="earn_multiplier")
    value = _number(_("How much"))
    priority = forms.IntegerField(
        label=_("Priority"),
        initial=0,
        help_text=_("Higher first; decides between exclusive offers."),
    )
    combine = forms.ChoiceField(label=_("With other offers"), choices=COMBINES, initial="stack")
    categories = forms.CharField(
        label=_("Categories"), required=False, help_text=_("Codes, comma separated; empty: any.")
    )
    skus = forms.CharField(label=_("SKUs"), required=False, help_text=_("Empty: any."))
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Weekdays"),
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every day."),
    )
    time_from = forms.CharField(
        label=_("From (store time)"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    time_to = forms.CharField(
        label=_("Until (not included)"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}),
    )
    date_from = forms.CharField(
        label=_("First day"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.CharField(
        label=_("Last day"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    stores = forms.MultipleChoiceField(
        label=_("Stores"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every store."),
    )
    min_receipt = _number(_("Receipt at least, ₽"), required=False)
    enrolled_within_days = _whole(_("Only members who joined within, days"))
    per_day = _whole(_("At most per member per day"))
    per_month = _whole(_("At most per member per month"))

    def __init__(self, *args: Any, stores: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stores"].choices = [(code, code) for code in stores]  # type: ignore[attr-defined]


def _formset(form: type[forms.Form]) -> Any:
    return forms.formset_factory(form, extra=1, can_delete=True, max_num=500, absolute_max=500)


LevelFormSet = _formset(LevelForm)
TierFormSet = _formset(TierForm)
ExclusionFormSet = _formset(ExclusionForm)
RuleFormSet = _formset(RuleForm)


def _main_initial(document: dict[str, Any]) -> dict[str, Any]:
    initial = {key: document[key] for key in MAIN_KEYS if key in document}
    for (kind, key), field in BONUS_FIELDS.items():
        initial[field] = document.get("bonuses", {}).get(kind, {}).get(key)
    return initial


def _tier_initial(tier: dict[str, Any]) -> dict[str, Any]:
    return {**tier, "privileges": "\n".join(tier.get("privileges", []))}


def _rule_initial(rule: dict[str, Any]) -> dict[str, Any]:
    ((effect, value),) = rule["then"].items()
    when = rule.get("when", {})
    initial = {
        "code": rule["code"],
        "name": rule["name"],
        "priority": rule.get("priority", 0),
        "combine": rule.get("combine", "stack"),
        "effect": effect,
        "value": value,
        **{key: value for key, value in when.items() if key in WHEN_KEYS},
    }
    for key in ("categories", "skus"):
        if key in when:
            initial[key] = ", ".join(when[key])
    for key, field in LIMIT_FIELDS.items():
        initial[field] = rule.get("limit", {}).get(key)
    return initial


def _rule_stores(document: dict[str, Any]) -> set[str]:
    return {code for rule in document["rules"] for code in rule.get("when", {}).get("stores", [])}


def _filled(formset: Any) -> list[forms.Form]:
    """The formset's rows that are part of the program: typed in, not marked for deletion."""
    kept = formset.initial_form_count()
    return [
        form
        for number, form in enumerate(formset.forms)
        if (number < kept or form.has_changed()) and not form.cleaned_data.get("DELETE")
    ]


class ProgramDraft:
    """The whole console form: the main figures, then discount levels, tiers, excluded
    categories and rules, each a formset (a row per item, an empty row to add one)."""

    def __init__(self, data: Any, *, base: dict[str, Any], stores: list[str]) -> None:
        self.base = base
        self.main = MainForm(data, initial=_main_initial(base))
        self.levels = LevelFormSet(data, prefix="levels", initial=base["discount_levels"])
        self.tiers = TierFormSet(
            data, prefix="tiers", initial=[_tier_initial(t) for t in base["tiers"]]
        )
        exclusions = [
            {"category": category, **{action: action in actions for action in ACTIONS}}
            for category, actions in base["excluded_categories"].items()
        ]
        self.exclusions = ExclusionFormSet(data, prefix="excluded", initial=exclusions)
        self.rules = RuleFormSet(
            data,
            prefix="rules",
            initial=[_rule_initial(r) for r in base["rules"]],
            # a rule may name a store not set up yet: it stays a choice
            form_kwargs={"stores": sorted({*stores, *_rule_stores(base)})},
        )
        self._rows: dict[str, list[forms.Form]] = {}

    @property
    def formsets(self) -> dict[str, Any]:
        return {
            "discount_levels": self.levels,
            "tiers": self.tiers,
            "excluded_categories": self.exclusions,
            "rules": self.rules,
        }

    def is_valid(self) -> bool:
        valid = self.main.is_valid()
        for formset in self.formsets.values():
            valid = formset.is_valid() and valid
        return valid

    def program(self) -> Program | None:
        """The draft as a program, or None: its problems are then on the forms."""
        if not self.is_valid():
            return None
        try:
            return program_from_document(self.document())
        except DocumentError as error:
            for path, message in error.problems:
                self._place(path, message)
            return None

    def document(self) -> dict[str, Any]:
        """The program document the (valid) forms describe."""
        data = self.main.cleaned_data
        document = dict(self.base)
        for key in MAIN_KEYS:
            document[key] = _decimal_text(data[key]) if key in DECIMAL_KEYS else data[key]
        document["bonuses"] = self._bonuses(data)
        self._rows = {part: _filled(formset) for part, formset in self.formsets.items()}
        document["discount_levels"] = [
            {key: _decimal_text(form.cleaned_data[key]) for key in ("from_spend", "percent")}
            for form in self._rows["discount_levels"]
        ]
        document["tiers"] = [self._tier(form.cleaned_data) for form in self._rows["tiers"]]
        document["excluded_categories"] = {
            form.cleaned_data["category"].strip(): [
                action for action in ACTIONS if form.cleaned_data[action]
            ]
            for form in self._rows["excluded_categories"]
        }
        document["rules"] = [self._rule(form.cleaned_data) for form in self._rows["rules"]]
        return document

    def _bonuses(self, data: dict[str, Any]) -> dict[str, Any]:
        bonuses = {kind: dict(bonus) for kind, bonus in self.base.get("bonuses", {}).items()}
        for (kind, key), field in BONUS_FIELDS.items():
            if data.get(field):
                bonuses.setdefault(kind, {})[key] = data[field]
            else:
                bonuses.get(kind, {}).pop(key, None)
        for kind in ("welcome", "birthday", "profile_completed"):
            if "points" not in bonuses.get(kind, {"points": 0}):
                del bonuses[kind]
        referral = bonuses.get("referral")
        if referral is not None and not {"referrer_points", "friend_points"} & set(referral):
            del bonuses["referral"]
        return bonuses

    @staticmethod
    def _tier(data: dict[str, Any]) -> dict[str, Any]:
        tier: dict[str, Any] = {
            "code": data["code"],
            "name": data["name"],
            "qualify_spend": _decimal_text(data["qualify_spend"]),
        }
        for key in ("earn_multiplier", "redeem_max_percent", "discount_percent"):
            if data[key].strip():
                tier[key] = _decimal_text(data[key])
        privileges = [line.strip() for line in data["privileges"].splitlines()]
        tier["privileges"] = [line for line in privileges if line]
        return tier

    @staticmethod
    def _rule(data: dict[str, Any]) -> dict[str, Any]:
        when: dict[str, Any] = {}
        for key in ("categories", "skus"):
            if data[key].strip():
                when[key] = _codes(data[key])
        for key in ("weekdays", "stores"):
            if data[key]:
                when[key] = list(data[key])
        for key in ("time_from", "time_to", "date_from", "date_to"):
            if data[key].strip():
                when[key] = data[key].strip()
        if data["min_receipt"].strip():
            when["min_receipt"] = _decimal_text(data["min_receipt"])
        if data["enrolled_within_days"] is not None:
            when["enrolled_within_days"] = data["enrolled_within_days"]
        value = _decimal_text(data["value"])
        whole = data["effect"] in ("points_per_unit", "bonus_points")
        then = {data["effect"]: int(value) if whole and value.isdigit() else value}
        rule: dict[str, Any] = {
            "code": data["code"].strip(),
            "name": data["name"].strip(),
            "priority": data["priority"],
            "combine": data["combine"],
            "when": when,
            "then": then,
        }
        limit = {key: data[field] for key, field in LIMIT_FIELDS.items() if data[field] is not None}
        if limit:
            rule["limit"] = limit
        return rule

    def _place(self, path: str, message: str) -> None:
        """Show a document problem under the field it is about (else above the form)."""
        match = PATH.fullmatch(path)
        if match is None:
            self.main.add_error(None, f"{path}: {message}")
            return
        part, row, key, sub = match.group("part", "row", "key", "sub")
        rows = self._rows.get(part or "")
        form: forms.Form = self.main
        field: str | None = part if part in self.main.fields else None
        if part == "bonuses" and key:
            field = BONUS_FIELDS.get((key, sub or ""))
        elif rows is not None and row is not None and int(row) < len(rows):
            form = rows[int(row)]
            field = {"when": sub, "then": "value", "limit": LIMIT_FIELDS.get(sub or "")}.get(
                key or "", key
            )
        elif part == "excluded_categories" and rows is not None:
            named = [f for f in rows if f.cleaned_data.get("category", "").strip() == key]
            form, field = (named[0], "category") if named else (form, None)
        if field is not None and field not in form.fields:
            field = None
        if field is None or form.has_error(field):
            form.add_error(None, f"{path}: {message}")
        else:
            form.add_error(field, message)

    def problems(self) -> Iterator[str]:
        """Every error, with its section, row and field, for the live preview's summary."""
        sections = [(_("Program"), [self.main])]
        names = {
            "discount_levels": _("Discount level"),
            "tiers": _("Tier"),
            "excluded_categories": _("Excluded category"),
            "rules": _("Offer"),
        }
        for part, formset in self.formsets.items():
            sections.append((names[part], list(formset.forms)))
        for section, forms_ in sections:
            for number, form in enumerate(forms_, start=1):
                where = section if form is self.main else f"{section} {number}"
                for field, errors in form.errors.items():
                    label = form.fields[field].label if field in form.fields else ""
                    for error in errors:
                        yield f"{where} · {label}: {error}" if label else f"{where}: {error}"
        for formset in self.formsets.values():
            for error in formset.non_form_errors():
                yield str(error)

    def moment(self) -> datetime | None:
        value: datetime | None = self.main.cleaned_data.get("effective_from")
        return value
