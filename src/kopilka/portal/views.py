"""The member's page: login by a one-time code, and the home page (`/me/`)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.http import require_http_methods, require_POST

from kopilka.core.login_throttle import client_ip
from kopilka.members.models import Member
from kopilka.portal.forms import CodeForm, PhoneForm
from kopilka.portal.selectors import member_home
from kopilka.portal.services import LoginRefused, login_code_check, login_code_request, phone_read
from kopilka.portal.session import current_member, member_login, member_logout, member_required

PENDING_PHONE = "portal_login_phone"


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
            member_login(request, member)
            return redirect("portal:home")
    status = 400 if form.errors else 200
    return render(request, "portal/code.html", {"form": form, "phone": phone}, status=status)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    member_logout(request)
    return redirect("portal:login")


@member_required
def home(request: HttpRequest, member: Member) -> HttpResponse:
    language = translation.get_language() or "ru"
    return render(request, "portal/home.html", {"home": member_home(member, language)})
