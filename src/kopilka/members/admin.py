from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kopilka.core.admin_utils import ReadOnlyInline
from kopilka.core.audit import Actor
from kopilka.core.errors import DomainError
from kopilka.ledger.selectors import member_balance
from kopilka.ledger.services import points_adjust
from kopilka.members.forms import PointsAdjustForm
from kopilka.members.models import Card, Consent, Member
from kopilka.members.services import card_replace


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
    readonly_fields = (
        "points_balance",
        "adjust_link",
        "created_at",
        "enrolled_store",
        "enrolled_by",
    )
    fields = ("phone", "name", "email", "birth_date", "status", *readonly_fields)
    inlines = [CardInline, ConsentInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # members join through member_enroll (consent is required), not a bare form

    @admin.display(description=gettext_lazy("Points"))
    def adjust_link(self, member: Member) -> str:
        url = reverse("admin:members_member_adjust", args=[member.pk])
        return format_html('<a href="{}">{}</a>', url, _("Adjust points…"))

    def get_urls(self) -> list[URLPattern]:
        adjust = path(
            "<int:member_id>/adjust/",
            self.admin_site.admin_view(self.adjust_view),
            name="members_member_adjust",
        )
        return [adjust, *super().get_urls()]

    def adjust_view(self, request: HttpRequest, member_id: int) -> HttpResponse:
        """A manual correction: a staff user, a reason, and the ledger service does the rest."""
        member = get_object_or_404(Member, pk=member_id)
        form = PointsAdjustForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                points_adjust(
                    member_id=member.pk,
                    points=form.cleaned_data["points"],
                    reason=form.cleaned_data["reason"],
                    actor=Actor.staff(request.user),
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, _("Points adjusted."), messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:members_member_change", args=[member.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "member": member,
            "form": form,
            "balance": member_balance(member.pk),
            "title": _("Adjust points"),
        }
        return TemplateResponse(request, "admin/members/adjust_points.html", context)


@admin.action(description=gettext_lazy("Block and issue a new card (balance kept)"))
def replace_cards(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Card]
) -> None:
    for card in queryset.filter(status=Card.Status.ACTIVE):
        new = card_replace(card_id=card.pk, actor=Actor.staff(request.user))
        modeladmin.message_user(
            request,
            _("Card %(old)s blocked, new card %(new)s.") % {"old": card.number, "new": new.number},
        )


@admin.register(Card)
class CardAdmin(admin.ModelAdmin):
    list_display = ["number", "member", "status", "issued_at"]
    actions = [replace_cards]
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
