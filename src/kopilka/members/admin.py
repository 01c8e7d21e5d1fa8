from datetime import timedelta

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kopilka.core import clock
from kopilka.core.admin_utils import ReadOnlyInline, TitledAdmin
from kopilka.core.audit import Actor
from kopilka.core.errors import DomainError
from kopilka.core.money import format_rubles
from kopilka.ledger.selectors import member_balance, member_transfers, transfer_description
from kopilka.ledger.services import points_adjust
from kopilka.members.forms import PointsAdjustForm, TierSetForm
from kopilka.members.models import Card, Consent, Member
from kopilka.members.services import card_replace
from kopilka.members.tiers import tier_set_manual, tier_status
from kopilka.program.engine import Reason
from kopilka.program.selectors import program_in_force

LATEST_OPERATIONS = 10
# Lots expire at a business-day boundary: the moment before it is the lot's last valid day.
LAST_MOMENT = timedelta(microseconds=1)


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
class MemberAdmin(TitledAdmin):
    change_title = gettext_lazy("Change member")
    list_display = ["phone", "name", "status", "points_balance", "enrolled_store", "created_at"]
    list_filter = ["status", "enrolled_store"]
    search_fields = ["phone", "name", "email", "cards__number"]
    readonly_fields = (
        "points",
        "operations",
        "tier",
        "created_at",
        "enrolled_store",
        "enrolled_by",
    )
    fieldsets = [
        (None, {"fields": ("phone", "name", "email", "birth_date", "status")}),
        (gettext_lazy("Points"), {"fields": ("points", "operations")}),
        (gettext_lazy("Tier"), {"fields": ("tier",)}),
        (gettext_lazy("Enrolment"), {"fields": ("created_at", "enrolled_store", "enrolled_by")}),
    ]
    inlines = [CardInline, ConsentInline]

    class Media:
        css = {"all": ["core/admin.css"]}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # members join through member_enroll (consent is required), not a bare form

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # the ledger and consents refer to a member; leaving is anonymisation

    @admin.display(description=gettext_lazy("Balance"))
    def points(self, member: Member) -> str:
        """Available and pending points, and what expires when (the last day each lot is valid)."""
        balance = member_balance(member.pk)
        expiring = [
            {"points": e.points, "valid_through": clock.business_date(e.expires_at - LAST_MOMENT)}
            for e in balance.expiring
        ]
        return render_to_string(
            "admin/members/member/points.html",
            {
                "balance": balance,
                "expiring": expiring,
                "adjust_url": reverse("admin:members_member_adjust", args=[member.pk]),
            },
        )

    @admin.display(description=gettext_lazy("Latest operations"))
    def operations(self, member: Member) -> str:
        transfers = member_transfers(member.pk, limit=LATEST_OPERATIONS)
        rows = [
            {
                "created_at": t.created_at,
                "kind": t.get_kind_display(),
                "points": t.points,
                "description": transfer_description(t),
                "actor": t.actor_label,
            }
            for t in transfers
        ]
        all_url = reverse("admin:ledger_transfer_changelist") + f"?member={member.pk}"
        return render_to_string(
            "admin/members/member/operations.html", {"rows": rows, "all_url": all_url}
        )

    @admin.display(description=gettext_lazy("Tier"))
    def tier(self, member: Member) -> str:
        """The tier with its privileges, how far the next one is, and every change with its why."""
        program = program_in_force()
        status = tier_status(member, program, clock.now())
        if status is None:
            return _("The program in force has no tiers.")
        names = {t.code: t.name for t in program.tiers}
        changes = [
            {
                "created_at": c.created_at,
                "kind": c.get_kind_display(),
                "from_tier": names.get(c.from_tier, c.from_tier),
                "to_tier": names.get(c.to_tier, c.to_tier),
                "reason": Reason.from_stored(c.reason).render(),
                "actor_label": c.actor_label,
            }
            for c in member.tier_changes.order_by("-created_at")[:LATEST_OPERATIONS]
        ]
        return render_to_string(
            "admin/members/member/tier.html",
            {
                "status": status,
                "spend": format_rubles(status.spend_in_window),
                "days": program.tier_window_days,
                "next_needed": format_rubles(status.next_spend_needed),
                "keep_needed": format_rubles(status.keep_spend_needed),
                "changes": changes,
                "set_url": reverse("admin:members_member_set_tier", args=[member.pk]),
            },
        )

    def get_urls(self) -> list[URLPattern]:
        adjust = path(
            "<int:member_id>/adjust/",
            self.admin_site.admin_view(self.adjust_view),
            name="members_member_adjust",
        )
        set_tier = path(
            "<int:member_id>/tier/",
            self.admin_site.admin_view(self.set_tier_view),
            name="members_member_set_tier",
        )
        return [adjust, set_tier, *super().get_urls()]

    def set_tier_view(self, request: HttpRequest, member_id: int) -> HttpResponse:
        """A tier set by hand, with its end date and why; the service records the change."""
        member = get_object_or_404(Member, pk=member_id)
        tiers = [(t.code, t.name) for t in program_in_force().tiers]
        form = TierSetForm(request.POST or None, tiers=tiers)
        if request.method == "POST" and form.is_valid():
            try:
                tier_set_manual(
                    member_id=member.pk,
                    tier_code=form.cleaned_data["tier"],
                    until=form.cleaned_data["until"],
                    note=form.cleaned_data["note"],
                    actor=Actor.staff(request.user),
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, _("Tier set."), messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:members_member_change", args=[member.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "member": member,
            "form": form,
            "title": _("Set the tier"),
        }
        return TemplateResponse(request, "admin/members/set_tier.html", context)

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
class CardAdmin(TitledAdmin):
    list_display = ["number", "member", "status", "issued_at"]
    actions = [replace_cards]
    search_fields = ["number", "member__phone"]
    readonly_fields = ["member", "number", "status", "issued_at", "blocked_at", "replaced_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # a lost card is blocked and replaced (the action), its number kept


@admin.register(Consent)
class ConsentAdmin(TitledAdmin):
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
