from django.contrib import admin
from django.http import HttpRequest

from kopilka.core.admin_utils import ReadOnlyInline
from kopilka.members.models import Card, Consent, Member


class CardInline(ReadOnlyInline):
    model = Card
    fk_name = "member"
    fields = readonly_fields = ("number", "status", "issued_at", "blocked_at")


class ConsentInline(ReadOnlyInline):
    model = Consent
    fields = readonly_fields = (
        "purpose",
        "channel",
        "given",
        "recorded_at",
        "source",
        "text_version",
    )


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ["phone", "name", "status", "points_balance", "enrolled_store", "created_at"]
    list_filter = ["status", "enrolled_store"]
    search_fields = ["phone", "name", "email", "cards__number"]
    readonly_fields = ("points_balance", "created_at", "enrolled_store", "enrolled_by")
    fields = ("phone", "name", "email", "birth_date", "status", *readonly_fields)
    inlines = [CardInline, ConsentInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # members join through member_enroll (consent is required), not a bare form


@admin.register(Card)
class CardAdmin(admin.ModelAdmin):
    list_display = ["number", "member", "status", "issued_at"]
    search_fields = ["number", "member__phone"]
    readonly_fields = ["member", "number", "status", "issued_at", "blocked_at", "replaced_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    list_display = [
        "member",
        "purpose",
        "channel",
        "given",
        "recorded_at",
        "source",
        "text_version",
    ]
    list_filter = ["purpose", "channel", "given"]
    readonly_fields = [
        "member",
        "purpose",
        "channel",
        "given",
        "recorded_at",
        "source",
        "text_version",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # consent history is evidence (152-FZ); a withdrawal is a new row
