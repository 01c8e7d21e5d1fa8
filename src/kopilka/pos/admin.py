from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kopilka.core.admin_utils import ReadOnlyAdmin, ReadOnlyInline
from kopilka.core.audit import Actor
from kopilka.pos.models import Purchase, PurchaseLine, PurchaseReturn, ReturnLine, Store, Terminal
from kopilka.pos.terminals import terminal_revoke


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "time_zone"]
    search_fields = ["code", "name"]


@admin.action(description=gettext_lazy("Revoke the API key"))
def revoke_terminals(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Terminal]
) -> None:
    for terminal in queryset.filter(revoked_at__isnull=True):
        terminal_revoke(terminal_id=terminal.pk, actor=Actor.staff(request.user))
        modeladmin.message_user(request, _("Terminal %(name)s revoked.") % {"name": terminal.name})


@admin.register(Terminal)
class TerminalAdmin(admin.ModelAdmin):
    actions = [revoke_terminals]
    list_display = ["name", "store", "key_prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["store"]
    readonly_fields = [
        "store",
        "key_prefix",
        "key_hash",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # keys are created by `manage.py create_terminal`, which shows the key once


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
        "amount",
        "redeem_points",
        "earn_points",
    ]
    list_filter = ["store"]
    search_fields = ["receipt_number", "member__phone"]
    raw_id_fields = ["member"]
    inlines = [PurchaseLineInline]


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
    list_display = ["id", "created_at", "purchase", "amount", "earn_reversed", "redeem_refunded"]
    raw_id_fields = ["purchase"]
    inlines = [ReturnLineInline]
