from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kopilka.core.admin_utils import ReadOnlyAdmin, ReadOnlyInline, TitledAdmin
from kopilka.core.audit import Actor
from kopilka.core.errors import DomainError
from kopilka.core.money import format_rubles
from kopilka.pos.models import Purchase, PurchaseLine, PurchaseReturn, ReturnLine, Store, Terminal
from kopilka.pos.stores import UnknownTimeZone, store_create, store_update, time_zone_check
from kopilka.pos.terminals import terminal_create, terminal_revoke


class StoreForm(forms.ModelForm):
    class Meta:
        model = Store
        fields = ["code", "name", "time_zone"]

    def clean_time_zone(self) -> str:
        time_zone = str(self.cleaned_data["time_zone"]).strip()
        try:
            time_zone_check(time_zone)
        except UnknownTimeZone as exc:
            raise forms.ValidationError(exc.message) from None
        return time_zone


@admin.register(Store)
class StoreAdmin(TitledAdmin):
    form = StoreForm
    add_title = gettext_lazy("Add store")
    change_title = gettext_lazy("Change store")
    list_display = ["code", "name", "time_zone"]
    search_fields = ["code", "name"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("code",) if obj else ()  # tills send the code with every receipt

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # purchases, terminals and members refer to it

    def save_model(self, request: HttpRequest, obj: Store, form: Any, change: bool) -> None:
        actor = Actor.staff(request.user)
        data = form.cleaned_data
        if change:
            store_update(
                store_id=obj.pk, name=data["name"], time_zone=data["time_zone"], actor=actor
            )
        else:
            saved = store_create(
                code=data["code"], name=data["name"], time_zone=data["time_zone"], actor=actor
            )
            obj.pk = saved.pk


class TerminalAddForm(forms.ModelForm):
    # a form field, not the model's: empty means terminal_create names it ("Till 2")
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("Leave empty for “Till N”."),
    )

    class Meta:
        model = Terminal
        fields = ["store"]


class TerminalStatusFilter(admin.SimpleListFilter):
    title = gettext_lazy("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("active", gettext_lazy("Active")), ("revoked", gettext_lazy("Revoked"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.action(description=gettext_lazy("Revoke the API key"), permissions=["revoke"])
def revoke_terminals(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Terminal]
) -> None:
    actor = Actor.staff(request.user)
    for terminal in queryset.select_related("store").order_by("pk"):
        if terminal.revoked_at is not None:
            modeladmin.message_user(
                request,
                _("Terminal %(name)s was already revoked.") % {"name": terminal.name},
                messages.WARNING,
            )
            continue
        try:
            terminal_revoke(terminal_id=terminal.pk, actor=actor)
        except DomainError as exc:  # revoked by someone else a moment ago
            modeladmin.message_user(request, exc.message, messages.WARNING)
        else:
            modeladmin.message_user(
                request, _("Terminal %(name)s revoked.") % {"name": terminal.name}
            )


@admin.register(Terminal)
class TerminalAdmin(TitledAdmin):
    """Terminals are created here or with `manage.py create_terminal`, revoked, never edited.

    The key is shown once, in a message after creating; only its hash is stored.
    """

    add_title = gettext_lazy("Add terminal")
    actions = [revoke_terminals]
    list_display = ["name", "store", "active", "key_prefix", "created_at", "last_used_at"]
    list_filter = [TerminalStatusFilter, "store"]
    list_select_related = ["store"]
    shown = ("store", "name", "key_prefix", "created_at", "last_used_at", "revoked_at")

    @admin.display(description=gettext_lazy("Active"), boolean=True)
    def active(self, terminal: Terminal) -> bool:
        return terminal.revoked_at is None

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a terminal is revoked (the action), not edited

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # purchases refer to it; revoke the key instead

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        # revoking changes the terminal: the same permission as editing it would need
        return super().has_change_permission(request)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = TerminalAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("store", "name") if obj is None else self.shown

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return () if obj is None else self.shown

    def save_model(self, request: HttpRequest, obj: Terminal, form: Any, change: bool) -> None:
        store = form.cleaned_data["store"]
        terminal, key = terminal_create(
            store_code=store.code,
            store_name=store.name,
            name=form.cleaned_data["name"].strip() or None,
            actor=Actor.staff(request.user),
        )
        for field in Terminal._meta.concrete_fields:
            setattr(obj, field.attname, getattr(terminal, field.attname))
        obj._state.adding = False
        self.message_user(
            request,
            _(
                "The API key of %(name)s, shown only now: %(key)s — copy it into the till's "
                "settings. It cannot be shown again; if it is lost, revoke the terminal and "
                "create a new one."
            )
            % {"name": terminal.name, "key": key},
            messages.WARNING,
        )


class PurchaseLineInline(ReadOnlyInline):
    model = PurchaseLine
    fields = readonly_fields = (
        "position",
        "sku",
        "name",
        "category",
        "quantity",
        "price",
        "amount",
        "redeem_points",
        "earn_points",
    )


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "created_at",
        "store",
        "receipt_number",
        "member",
        "amount_rubles",
        "redeem_points",
        "earn_points",
    ]
    list_filter = ["store"]
    list_select_related = ["store", "member"]
    search_fields = ["receipt_number", "member__phone"]
    raw_id_fields = ["member"]
    inlines = [PurchaseLineInline]

    @admin.display(description=gettext_lazy("Amount, ₽"), ordering="amount")
    def amount_rubles(self, purchase: Purchase) -> str:
        return format_rubles(purchase.amount)


class ReturnLineInline(ReadOnlyInline):
    model = ReturnLine
    fields = readonly_fields = (
        "purchase_line",
        "quantity",
        "amount",
        "earn_reversed",
        "redeem_refunded",
    )


@admin.register(PurchaseReturn)
class PurchaseReturnAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "created_at",
        "purchase",
        "amount_rubles",
        "earn_reversed",
        "redeem_refunded",
    ]
    raw_id_fields = ["purchase"]
    inlines = [ReturnLineInline]

    @admin.display(description=gettext_lazy("Amount, ₽"), ordering="amount")
    def amount_rubles(self, purchase_return: PurchaseReturn) -> str:
        return format_rubles(purchase_return.amount)
