from django.contrib import admin
from django.utils.translation import gettext_lazy

from kopilka.core.admin_utils import ReadOnlyAdmin, ReadOnlyInline
from kopilka.ledger.models import LotSpend, PointLot, Posting, Transfer
from kopilka.ledger.selectors import transfer_description


class PostingInline(ReadOnlyInline):
    model = Posting
    fields = readonly_fields = ("account", "member_id", "amount")


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "kind", "member", "points", "description", "actor_label"]
    list_filter = ["kind"]
    list_select_related = ["member", "purchase", "purchase__store"]
    search_fields = ["member__phone", "reason"]
    raw_id_fields = ["member", "purchase", "purchase_return"]
    inlines = [PostingInline]

    @admin.display(description=gettext_lazy("Reason"))
    def description(self, transfer: Transfer) -> str:
        return transfer_description(transfer)


@admin.register(PointLot)
class PointLotAdmin(ReadOnlyAdmin):
    list_select_related = ["member"]
    list_display = [
        "id",
        "member",
        "points",
        "remaining",
        "earned_at",
        "available_at",
        "expires_at",
    ]
    search_fields = ["member__phone"]
    raw_id_fields = ["member", "transfer"]


@admin.register(Posting)
class PostingAdmin(ReadOnlyAdmin):
    list_display = ["id", "transfer", "account", "member_id", "amount"]
    list_filter = ["account"]


@admin.register(LotSpend)
class LotSpendAdmin(ReadOnlyAdmin):
    list_display = ["id", "lot", "transfer", "member_id", "points"]
