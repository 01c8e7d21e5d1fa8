from django.contrib import admin
from django.http import HttpRequest

from kopilka.core.admin_utils import ReadOnlyAdmin, ReadOnlyInline
from kopilka.pos.models import Purchase, PurchaseLine, PurchaseReturn, ReturnLine, Store, Terminal


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "time_zone"]
    search_fields = ["code", "name"]


@admin.register(Terminal)
class TerminalAdmin(admin.ModelAdmin):
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
