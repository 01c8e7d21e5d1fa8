from collections.abc import Sequence

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.utils.translation import gettext_lazy as _

SWITCH_LABELS = {
    "sms_service": _("SMS about my points"),
    "email_service": _("Email about my points"),
    "telegram_service": _("Telegram about my points"),
    "sms_marketing": _("SMS with offers and news"),
    "email_marketing": _("Email with offers and news"),
    "telegram_marketing": _("Telegram with offers and news"),
}


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=_("Phone"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel", "autofocus": True}
        ),
    )


class JoinForm(forms.Form):
    """Joining: the personal-data consent is its own required box (152-FZ art. 9, from
    2025-09-01: never bundled); each advertising channel its own optional, unticked box."""

    phone = PhoneForm.base_fields["phone"]
    name = forms.CharField(
        label=_("How should we call you"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    email = forms.EmailField(
        label=_("Email (not required)"),
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    personal_data = forms.BooleanField(
        label=_("I consent to the processing of my personal data"),
        error_messages={"required": _("Without this consent we cannot keep your card.")},
    )
    sms_marketing = forms.BooleanField(label=SWITCH_LABELS["sms_marketing"], required=False)
    email_marketing = forms.BooleanField(label=SWITCH_LABELS["email_marketing"], required=False)
    telegram_marketing = forms.BooleanField(
        label=SWITCH_LABELS["telegram_marketing"], required=False
    )

    def advertising(self) -> list[forms.BoundField]:
        return [self[name] for name in ("sms_marketing", "email_marketing", "telegram_marketing")]

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("email_marketing") and not data.get("email"):
            self.add_error("email", _("Enter the email the offers should come to."))
        return data


class PasswordLoginForm(forms.Form):
    phone = PhoneForm.base_fields["phone"]
    password = forms.CharField(
        label=_("Password"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class PasswordSetForm(forms.Form):
    """A new password, twice, checked by the site's password validators."""

    password = forms.CharField(
        label=_("New password"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    again = forms.CharField(
        label=_("The same password again"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        password, again = data.get("password"), data.get("again")
        if password and again and password != again:
            self.add_error("again", _("The two passwords differ."))
        elif isinstance(password, str):
            try:
                validate_password(password)
            except forms.ValidationError as problems:
                self.add_error("password", problems)
        return data


class CodeForm(forms.Form):
    code = forms.RegexField(
        label=_("Code from the message"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": _("The code is 6 digits.")},
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9]{6}",
                "maxlength": 6,
                "autofocus": True,
            }
        ),
    )


class ProfileForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=200, required=False)
    email = forms.EmailField(
        label=_("Email"),
        required=False,
        help_text=_("A new address is yours once you open the link we send to it."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    language = forms.ChoiceField(
        label=_("Language of messages and pages"),
        choices=[("ru", "Русский"), ("en", "English")],
        required=False,  # left out: unchanged
    )
    birth_date = forms.DateField(
        label=_("Birth date"),
        required=False,
        help_text=_("Set it once: it brings the birthday bonus. Later only the staff change it."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class SwitchesForm(forms.Form):
    """Every consent switch as its own checkbox (advertising ones unticked until the member ticks)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for name, label in SWITCH_LABELS.items():
            self.fields[name] = forms.BooleanField(label=label, required=False)


class HistoryFilter(forms.Form):
    """The history's filter: the kind of operation and the period (both ends optional)."""

    kind = forms.ChoiceField(label=_("Kind"), required=False)
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(
        self, *args: object, kinds: Sequence[tuple[str, object]], **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["kind"].choices = [("", _("all operations")), *kinds]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end of the period is before its start."))
        return data
