"""The member's page: login by a one-time code, and the home page (`/me/`)."""

import json
import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import select_template
from django.templatetags.static import static
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language

from kopilka.core.audit import Actor
from kopilka.core.errors import DomainError
from kopilka.core.idempotency import form_key, request_fingerprint, run_idempotent
from kopilka.core.login_throttle import client_ip
from kopilka.ledger.models import Transfer
from kopilka.members.card_token import card_token
from kopilka.members.models import Member
from kopilka.members.selectors import consents_in_force, member_card_number
from kopilka.members.services import (
    ConsentEvidence,
    consents_change,
    member_anonymise,
    member_email_set,
    member_password_set,
    member_profile_update,
)
from kopilka.messaging.models import TelegramLink
from kopilka.messaging.telegram import link_url
from kopilka.portal.card import barcode_svg, qr_svg
from kopilka.portal.emails import email_link_open, email_link_send
from kopilka.portal.export import member_export, member_export_csv
from kopilka.portal.forms import (
    CodeForm,
    HistoryFilter,
    JoinForm,
    PasswordLoginForm,
    PasswordSetForm,
    PhoneForm,
    ProfileForm,
    SwitchesForm,
)
from kopilka.portal.models import LoginCode
from kopilka.portal.selectors import (
    PURCHASES,
    consent_history,
    member_history,
    member_home,
    member_purchase,
    member_voucher,
    member_vouchers,
)
from kopilka.portal.services import (
    Joining,
    LoginRefused,
    join_code_request,
    join_confirm,
    login_code_check,
    login_code_request,
    password_login,
    phone_read,
)
from kopilka.portal.session import current_member, member_login, member_logout, member_required
from kopilka.portal.wallet import wallet_pass, wallet_signer
from kopilka.pos.models import Store
from kopilka.program.engine.explain import program_explained
from kopilka.program.selectors import program_in_force
from kopilka.rewards.services import reward_exchange, rewards_for_member

PENDING_PHONE = "portal_login_phone"
JOINING = "portal_joining"
WELCOME = "portal_welcome"


@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    if current_member(request) is not None:
        return redirect("portal:home")
    form = PhoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            phone = phone_read(form.cleaned_data["phone"])
            login_code_request(phone=phone, ip=client_ip(request))
        except LoginRefused as refused:
            form.add_error("phone", refused.message)
        else:
            request.session[PENDING_PHONE] = phone
            return redirect("portal:code")
    status = 400 if form.errors else 200
    return render(request, "portal/login.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def code(request: HttpRequest) -> HttpResponse:
    phone = request.session.get(PENDING_PHONE)
    if not isinstance(phone, str):
        return redirect("portal:login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member = login_code_check(phone=phone, code=form.cleaned_data["code"])
        except LoginRefused as refused:
            form.add_error("code", refused.message)
        else:
            return _logged_in(request, member)
    status = 400 if form.errors else 200
    return render(request, "portal/code.html", {"form": form, "phone": phone}, status=status)


def _logged_in(request: HttpRequest, member: Member) -> HttpResponse:
    """Log the member in and open their home page in their language."""
    member_login(request, member)
    response = redirect("portal:home")
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, member.language, samesite="Lax")
    return response


@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, store: str | None = None) -> HttpResponse:
    """Join in under a minute: phone, name, the consents; a code to the phone proves it, and only
    then the account exists. `/join/<store>/` (the in-store QR code) records the store."""
    found = get_object_or_404(Store, code=store) if store else None
    if current_member(request) is not None:
        return redirect("portal:home")
    form = JoinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            phone = phone_read(data["phone"])
            join_code_request(phone=phone, ip=client_ip(request))
        except LoginRefused as refused:
            form.add_error("phone", refused.message)
        else:
            request.session[JOINING] = Joining.asked(
                request,
                phone=phone,
                name=data["name"].strip(),
                email=data["email"].strip().lower(),
                sms_marketing=data["sms_marketing"],
                email_marketing=data["email_marketing"],
                telegram_marketing=data["telegram_marketing"],
                store_id=found.pk if found else None,
            ).stored()
            return redirect("portal:join-code")
    status = 400 if form.errors else 200
    context = {"form": form, "store": found, "version": settings.KOPILKA_CONSENT_TEXT_VERSION}
    return render(request, "portal/join.html", context, status=status)


@require_http_methods(["GET", "POST"])
def join_code(request: HttpRequest) -> HttpResponse:
    joining = Joining.read(request.session.get(JOINING))
    if joining is None:
        return redirect("portal:join")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member, new = join_confirm(joining=joining, code=form.cleaned_data["code"])
        except LoginRefused as refused:
            form.add_error("code", refused.message)
        else:
            response = _logged_in(request, member)  # a new session: the form's data is gone
            request.session[WELCOME] = "joined" if new else "member_already"
            return response
    status = 400 if form.errors else 200
    context = {"form": form, "phone": joining.phone}
    return render(request, "portal/join_code.html", context, status=status)


CONSENT_DOCUMENTS = {"personal-data": "personal_data", "marketing": "marketing"}


def consent_document(request: HttpRequest, document: str) -> HttpResponse:
    """The text a consent was given to, by its version (`?version=`, default the one in force):
    each consent is its own document, never bundled with another."""
    version = request.GET.get("version", settings.KOPILKA_CONSENT_TEXT_VERSION)
    name = CONSENT_DOCUMENTS.get(document)
    if name is None or not re.fullmatch(r"[\w.-]{1,32}", version):
        raise Http404
    language = translation.get_language() or "ru"
    try:  # a legal text is written in each language, not translated phrase by phrase
        page = select_template(
            [
                f"portal/consent/{version}/{name}.{language}.html",
                f"portal/consent/{version}/{name}.ru.html",
            ]
        )
    except TemplateDoesNotExist:
        raise Http404 from None
    context = {"version": version, "operator": settings.KOPILKA_OPERATOR}
    return HttpResponse(page.render(context, request))


@require_http_methods(["GET", "POST"])
def login_password(request: HttpRequest) -> HttpResponse:
    """For members who set a password: phone and password instead of a code."""
    if current_member(request) is not None:
        return redirect("portal:home")
    form = PasswordLoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            phone = phone_read(form.cleaned_data["phone"])
            member = password_login(
                phone=phone, password=form.cleaned_data["password"], ip=client_ip(request)
            )
        except LoginRefused as refused:
            form.add_error("password", refused.message)
        else:
            return _logged_in(request, member)
    status = 400 if form.errors else 200
    return render(request, "portal/login_password.html", {"form": form}, status=status)


@member_required
@require_http_methods(["GET", "POST"])
def password(request: HttpRequest, member: Member) -> HttpResponse:
    """Set, change or remove the optional password (the one-time code always works)."""
    form = PasswordSetForm(request.POST if request.POST.get("action") == "set" else None)
    done = ""
    actor = Actor(label=f"member:{member.pk}")
    if request.method == "POST" and request.POST.get("action") == "remove":
        member_password_set(member_id=member.pk, password="", actor=actor)
        done = "removed"
    elif request.method == "POST" and form.is_valid():
        member_password_set(
            member_id=member.pk, password=form.cleaned_data["password"], actor=actor
        )
        form, done = PasswordSetForm(), "set"
    member.refresh_from_db(fields=["password"])
    context = {"form": form, "done": done, "has_password": bool(member.password)}
    return render(request, "portal/password.html", context, status=400 if form.errors else 200)


@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    """Django's language switch; a logged-in member's choice is also their language (of their
    messages, and of their pages on the next device)."""
    response = set_language(request)
    member = current_member(request)
    chosen = request.POST.get("language", "")
    if member is not None and chosen in dict(settings.LANGUAGES) and chosen != member.language:
        member_profile_update(
            member_id=member.pk,
            name=member.name,
            birth_date=None,
            language=chosen,
            actor=Actor(label=f"member:{member.pk}"),
        )
    return response


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    member_logout(request)
    return redirect("portal:login")


@member_required
def home(request: HttpRequest, member: Member) -> HttpResponse:
    language = translation.get_language() or "ru"
    welcome = request.session.pop(WELCOME, "")
    context = {"home": member_home(member, language), "welcome": welcome}
    return render(request, "portal/home.html", context)


@member_required
def history(request: HttpRequest, member: Member) -> HttpResponse:
    kinds = [(k.value, k.label) for k in Transfer.Kind] + [
        (PURCHASES, _("purchases without points"))
    ]
    form = HistoryFilter(request.GET, kinds=kinds)
    valid = form.is_valid()
    data = form.cleaned_data if valid else {}
    found = member_history(
        member,
        kind=data.get("kind") or "",
        page=int(page) if (page := request.GET.get("page", "1")).isdigit() else 1,
        since=data.get("since"),
        until=data.get("until"),
    )
    query = {k: v for k, v in request.GET.items() if k != "page" and v}
    context = {"history": found, "form": form, "query": urlencode(query)}
    return render(request, "portal/history.html", context, status=200 if valid else 400)


@member_required
def purchase(request: HttpRequest, member: Member, purchase_id: int) -> HttpResponse:
    found = member_purchase(member, purchase_id)
    if found is None:  # another member's, or none: the same answer
        raise Http404
    bought, lines = found
    return render(request, "portal/purchase.html", {"purchase": bought, "lines": lines})


@member_required
@require_http_methods(["GET", "POST"])
def rewards(request: HttpRequest, member: Member) -> HttpResponse:
    """The catalogue for this member and their vouchers; exchanging points for one is idempotent
    per rendered form (a double tap or a resent form gives one voucher)."""
    refused = ""
    if request.method == "POST":
        code, key = request.POST.get("reward", ""), request.POST.get("key", "")
        try:
            status, body = _exchange(member, code, key)
        except DomainError as refusal:
            status, body = refusal.status, refusal.body()
        if status == 201:
            return redirect("portal:voucher", body["voucher"])
        refused = str(body["error"]["message"])
    context = {
        "offers": [(offer, uuid.uuid4().hex) for offer in rewards_for_member(member)],
        "vouchers": member_vouchers(member),
        "refused": refused,
    }
    return render(request, "portal/rewards.html", context, status=400 if refused else 200)


def _exchange(member: Member, code: str, key: str) -> tuple[int, dict[str, Any]]:
    key = form_key(key, _("The page is out of date: open it again."))

    def work() -> tuple[int, dict[str, object]]:
        actor = Actor(label=f"member:{member.pk}")
        return 201, {"voucher": reward_exchange(member_id=member.pk, code=code, actor=actor).code}

    return run_idempotent(
        scope=f"portal:member:{member.pk}",
        key=key,
        request_hash=request_fingerprint("exchange", member.pk, code),
        work=work,
    )


@member_required
def voucher(request: HttpRequest, member: Member, code: str) -> HttpResponse:
    """A voucher to show at the till: its code as text and as a QR code."""
    found = member_voucher(member, code)
    if found is None:
        raise Http404
    return render(request, "portal/voucher.html", {"shown": found})


@member_required
def telegram_qr(request: HttpRequest, member: Member) -> HttpResponse:
    """The bot's deep link as a QR code: scanned with the phone from a computer's screen."""
    url = link_url(member.pk)
    if not url:
        raise Http404
    return _svg(qr_svg(url))


@member_required
def voucher_qr(request: HttpRequest, member: Member, code: str) -> HttpResponse:
    if member_voucher(member, code) is None:
        raise Http404
    return _svg(qr_svg(code))


@member_required
def program(request: HttpRequest, member: Member) -> HttpResponse:
    """How it works: the program in force, in sentences generated from its rules."""
    sentences = program_explained(program_in_force())
    return render(request, "portal/program.html", {"sentences": sentences})


def _profile_initial(member: Member) -> dict[str, object]:
    return {
        "name": member.name,
        "email": member.email,
        "language": member.language,
        "birth_date": member.birth_date,
    }


@member_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest, member: Member) -> HttpResponse:
    """Name, email (confirmed by a link), language, birth date (once), which messages on which
    channel, the Telegram link."""
    switches_now = consents_in_force(member.pk)
    profile_form = ProfileForm(request.POST or None, initial=_profile_initial(member))
    profile_form.fields["birth_date"].disabled = member.birth_date is not None  # set once
    switches = SwitchesForm(request.POST or None, initial=switches_now)
    saved, link_sent = False, ""
    if request.method == "POST" and profile_form.is_valid() and switches.is_valid():
        data = profile_form.cleaned_data
        actor = Actor(label=f"member:{member.pk}")
        try:
            with transaction.atomic():
                member = member_profile_update(
                    member_id=member.pk,
                    name=data["name"].strip(),
                    birth_date=data["birth_date"],
                    language=data["language"] or None,
                    actor=actor,
                )
                link_sent = _email_change(member, data["email"].strip().lower(), actor)
                changed = {
                    name: value
                    for name, value in switches.cleaned_data.items()
                    if value != switches_now.get(name)
                }
                if changed:
                    consents_change(
                        member_id=member.pk,
                        changes=changed,
                        source="portal",
                        actor=actor,
                        evidence=ConsentEvidence.web(request, confirmed_by="portal_login"),
                    )
        except DomainError as refused:
            profile_form.add_error("birth_date", refused.message)
        else:
            saved = True
            translation.activate(member.language)
            profile_form = ProfileForm(initial=_profile_initial(member))
            switches = SwitchesForm(initial=consents_in_force(member.pk))
    if member.birth_date is not None:
        profile_form.fields["birth_date"].disabled = True
    context = {
        "member": member,
        "profile_form": profile_form,
        "switches": switches,
        "saved": saved,
        "link_sent": link_sent,
        "telegram_url": link_url(member.pk),
        "telegram_linked": TelegramLink.objects.filter(member=member).exists(),
    }
    status = 400 if profile_form.errors or switches.errors else 200
    response = render(request, "portal/profile.html", context, status=status)
    if saved:  # the pages follow the member's language from now on
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, member.language, samesite="Lax")
    return response


def _email_change(member: Member, email: str, actor: Actor) -> str:
    """A new (or still unconfirmed) address gets a link, and stays unchanged until it is
    opened; an erased one is gone at once. The address a link went to, or ""."""
    if not email:
        member_email_set(member_id=member.pk, email="", confirmed=False, actor=actor)
        return ""
    if email == member.email and member.email_confirmed_at is not None:
        return ""
    email_link_send(member, email)
    return email


def email_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link from the letter: no login needed, the signed token is the proof."""
    member = email_link_open(token)
    context = {"member": member}
    return render(request, "portal/email_confirmed.html", context, status=200 if member else 404)


@member_required
def privacy(request: HttpRequest, member: Member) -> HttpResponse:
    """Each consent with its history, the data download and the account's deletion."""
    return render(request, "portal/privacy.html", {"consents": consent_history(member)})


@member_required
def export(request: HttpRequest, member: Member, fmt: str) -> HttpResponse:
    if fmt not in ("json", "csv"):
        raise Http404
    data = member_export(member)
    if fmt == "csv":
        response = HttpResponse(
            "\ufeff" + member_export_csv(data), content_type="text/csv; charset=utf-8"
        )
    else:
        body = json.dumps(data, ensure_ascii=False, indent=1)
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="kopilka-my-data.{fmt}"'
    return response


@member_required
@require_POST
def delete(request: HttpRequest, member: Member) -> HttpResponse:
    if request.POST.get("confirm") != "yes":
        context = {"consents": consent_history(member), "delete_error": True}
        return render(request, "portal/privacy.html", context, status=400)
    with transaction.atomic():
        member_anonymise(member_id=member.pk, actor=Actor(label=f"member:{member.pk}"))
        TelegramLink.objects.filter(member=member).delete()
        LoginCode.objects.filter(member=member).delete()
    member_logout(request)
    return render(request, "portal/deleted.html")


@member_required
def card(request: HttpRequest, member: Member) -> HttpResponse:
    """The digital card to show at the till: a QR code that changes every minute and the card's
    barcode and number; the Apple Wallet pass where signing is configured."""
    context = {"card_number": member_card_number(member), "wallet": wallet_signer() is not None}
    return render(request, "portal/card.html", context)


@member_required
def card_wallet(request: HttpRequest, member: Member) -> HttpResponse:
    signer = wallet_signer()
    if signer is None:
        raise Http404
    response = HttpResponse(
        wallet_pass(member, signer), content_type="application/vnd.apple.pkpass"
    )
    response["Content-Disposition"] = 'attachment; filename="kopilka.pkpass"'
    response["Cache-Control"] = "no-store"
    return response


def _svg(body: bytes) -> HttpResponse:
    response = HttpResponse(body, content_type="image/svg+xml")
    response["Cache-Control"] = "no-store"
    return response


@member_required
def card_qr(request: HttpRequest, member: Member) -> HttpResponse:
    return _svg(qr_svg(card_token(member.pk)))


@member_required
def card_barcode(request: HttpRequest, member: Member) -> HttpResponse:
    number = member_card_number(member)
    if number is None:
        raise Http404
    return _svg(barcode_svg(number))


def manifest(request: HttpRequest) -> HttpResponse:
    """The web app manifest: the member's page installs as an app that opens on the card."""
    icons = [
        {"src": static(f"portal/{name}.png"), "sizes": size, "type": "image/png", "purpose": use}
        for name, size, use in [
            ("icon-192", "192x192", "any"),
            ("icon-512", "512x512", "any"),
            ("icon-maskable-512", "512x512", "maskable"),
        ]
    ]
    body = {
        "name": _("Kopilka: my card"),
        "short_name": _("Kopilka"),
        "description": _("Your points, your card for the till, your history."),
        "lang": translation.get_language() or "ru",
        "start_url": "/me/",
        "scope": "/me/",
        "display": "standalone",
        "background_color": "#f6f7f9",
        "theme_color": "#0b6e4f",
        "icons": icons,
    }
    return JsonResponse(
        body, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False}
    )


WORKER = (Path(__file__).parent / "static" / "portal" / "sw.js").read_bytes()


def worker(request: HttpRequest) -> HttpResponse:
    """The service worker, served under /me/ so that its scope is the member's pages."""
    response = HttpResponse(WORKER, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response
