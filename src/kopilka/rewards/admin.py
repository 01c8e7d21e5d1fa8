from django.contrib import admin
from django.http import HttpRequest

from kopilka.core.admin_utils import ReadOnlyInline, TitledAdmin
from kopilka.rewards.models import Reward, Voucher


class VoucherInline(ReadOnlyInline):
    model = Voucher
    fields = readonly_fields = ("code", "member", "issued_at", "valid_until", "used_at")


@admin.register(Reward)
class RewardAdmin(TitledAdmin):
    list_display = ["name", "code", "kind", "points_price", "cost", "stock", "active_until"]
    list_filter = ["kind"]
    search_fields = ["name", "code", "sku"]
    readonly_fields = ("created_at",)
    inlines = [VoucherInline]

    def save_model(self, request: HttpRequest, obj: Reward, form: object, change: bool) -> None:
        from kopilka.core import clock

        if obj.created_at is None:
            obj.created_at = clock.now()
        super().save_model(request, obj, form, change)


@admin.register(Voucher)
class VoucherAdmin(TitledAdmin):
    list_display = ["code", "reward", "member", "issued_at", "valid_until", "used_at"]
    search_fields = ["code"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a voucher is issued by an exchange, which spends the points

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
