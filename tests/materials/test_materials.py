"""The printed materials: made from the program in force (the facts, the join QR of the store,
the figures of the cheat-sheet), as real PDFs whose first page renders to PNG, in Russian and
English; only for the owner, marketers and store managers."""

import io

import pypdfium2
import pytest
import zxingcpp
from django.contrib.auth.models import Group, User
from django.test import Client
from PIL import Image

from kopilka.core import clock
from kopilka.pos.models import Store
from kopilka.rewards.models import Reward
from kopilka.staff.models import StaffProfile
from tests.conftest import Api, program_set

pytestmark = pytest.mark.django_db


def marketer(role: str = "marketer") -> Client:
    user = User.objects.create_user(role, password="x-secret-42", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    StaffProfile.objects.create(user=user).stores.set(Store.objects.all())
    client = Client()
    client.force_login(user)
    return client


def text_of(pdf: bytes) -> str:
    document = pypdfium2.PdfDocument(pdf)
    return "\n".join(document[i].get_textpage().get_text_range() for i in range(len(document)))


def test_the_poster_says_the_chosen_facts_and_its_qr_joins_at_the_store(api: Api) -> None:
    program_set(earn_percent="5")
    Reward.objects.create(
        code="cap", name="Бесплатный кофе", kind=Reward.Kind.GIFT, points_price=250, cost=3000,
        created_at=clock.now(),
    )  # fmt: skip
    client = marketer()
    page = client.get("/backoffice/materials/").content.decode()
    assert "5 % баллами с каждой покупки" in page and "Бесплатный кофе за 250 баллов" in page
    refused = client.post("/backoffice/materials/", {"facts": ["earn"]})
    assert refused.status_code == 400 and "Выберите ровно три" in refused.content.decode()
    saved = client.post("/backoffice/materials/", {"facts": ["reward:cap", "earn", "point_value"]})
    assert saved.status_code == 302
    pdf = client.get("/backoffice/materials/poster.pdf?store=central&lang=ru")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    text = text_of(pdf.content)
    assert "Бесплатный кофе за 250 баллов" in text and "5 % баллами с каждой покупки" in text
    png = client.get("/backoffice/materials/poster.png?store=central&lang=ru")
    image = Image.open(io.BytesIO(png.content))
    assert png["Content-Type"] == "image/png" and abs(image.width - 700) <= 1
    codes = [found.text for found in zxingcpp.read_barcodes(image)]
    assert codes == ["http://127.0.0.1:8000/join/central/"], codes
    english = text_of(client.get("/backoffice/materials/flyer.pdf?store=central&lang=en").content)
    assert "5 % back in points on every purchase" in english
    for kind in ("tent", "flyer"):
        assert (
            client.get(f"/backoffice/materials/{kind}.png?store=central&lang=ru").status_code == 200
        )


def test_the_cheatsheet_answers_with_the_programs_figures(api: Api) -> None:
    program_set(expiry_days=180)
    client = marketer("store_manager")
    ru = text_of(client.get("/backoffice/materials/cheatsheet.pdf?lang=ru").content)
    assert "Шпаргалка" in ru and "Почему на табак нет баллов?" in ru and "180 дней" in ru
    assert ru.count("?") >= 8
    en = text_of(client.get("/backoffice/materials/cheatsheet.pdf?lang=en").content)
    assert "The ten common questions" in en


def test_only_the_roles_that_need_them_open_the_materials(api: Api) -> None:
    assert Client().get("/backoffice/materials/").url.startswith("/admin/login/")
    assert marketer("cashier").get("/backoffice/materials/").status_code == 403
    client = marketer()
    assert client.get("/backoffice/materials/poster.pdf?store=nowhere&lang=ru").status_code == 404
    assert client.get("/backoffice/materials/poster.pdf?store=central&lang=de").status_code == 404
    assert client.get("/backoffice/materials/other.pdf?store=central").status_code == 404
