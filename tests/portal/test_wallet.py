"""The Apple Wallet pass: offered only where signing is configured; its manifest hashes every
file, and its signature verifies (openssl) against the certificates the test makes."""

import hashlib
import io
import json
import subprocess
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.conftest import enroll, points_move
from tests.portal.test_pages import logged_in

pytestmark = pytest.mark.django_db


def certificate(
    name: str, key: rsa.RSAPrivateKey, issuer: tuple[x509.Name, rsa.RSAPrivateKey] | None = None
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_name, issuer_key = issuer or (subject, key)
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


@pytest.fixture
def signing(settings: Any, tmp_path: Path) -> Path:
    """A stand-in for Apple's WWDR authority, and a pass type certificate it issued."""
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = certificate("Test WWDR", ca_key)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = certificate("Pass Type ID: pass.ru.kopilka.test", key, (ca.subject, ca_key))
    pem = serialization.Encoding.PEM
    (tmp_path / "wwdr.pem").write_bytes(ca.public_bytes(pem))
    (tmp_path / "pass.pem").write_bytes(cert.public_bytes(pem))
    (tmp_path / "pass.key").write_bytes(
        key.private_bytes(
            pem,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    settings.KOPILKA_WALLET = {
        "pass_type_id": "pass.ru.kopilka.test",
        "team_id": "TEAM123456",
        "certificate": str(tmp_path / "pass.pem"),
        "key": str(tmp_path / "pass.key"),
        "key_password": "secret",
        "wwdr": str(tmp_path / "wwdr.pem"),
        "organization": "Кофейня",
    }
    return tmp_path


def test_the_pass_is_signed_and_its_manifest_hashes_every_file(signing: Path) -> None:
    member = enroll("+79161234567", name="Анна")
    points_move(member.pk, earn=1234)
    client = logged_in(member)
    assert "Apple Wallet" in client.get("/me/card/").content.decode()
    answer = client.get("/me/card/kopilka.pkpass")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/vnd.apple.pkpass"
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    files = {name: archive.read(name) for name in archive.namelist()}
    assert {"pass.json", "manifest.json", "signature", "icon.png", "icon@2x.png"} <= set(files)
    manifest = json.loads(files["manifest.json"])
    assert set(manifest) == set(files) - {"manifest.json", "signature"}
    for name, digest in manifest.items():
        assert hashlib.sha1(files[name]).hexdigest() == digest, name
    document = json.loads(files["pass.json"])
    number = member.cards.get().number
    assert document["passTypeIdentifier"] == "pass.ru.kopilka.test"
    assert document["teamIdentifier"] == "TEAM123456" and document["serialNumber"] == number
    assert document["barcodes"][0] == {
        "format": "PKBarcodeFormatCode128",
        "message": number,
        "messageEncoding": "iso-8859-1",
        "altText": " ".join(number[i : i + 4] for i in range(0, 16, 4)),
    }
    assert document["storeCard"]["primaryFields"][0]["value"] == "1\u00a0234"
    assert document["storeCard"]["primaryFields"][0]["label"] == "Баллы"
    (signing / "manifest.json").write_bytes(files["manifest.json"])
    (signing / "signature").write_bytes(files["signature"])
    verify = [
        "openssl", "smime", "-verify", "-binary", "-inform", "DER",
        "-in", str(signing / "signature"), "-content", str(signing / "manifest.json"),
        "-CAfile", str(signing / "wwdr.pem"), "-purpose", "any", "-out", "/dev/null",
    ]  # fmt: skip
    checked = subprocess.run(verify, capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    (signing / "manifest.json").write_bytes(files["manifest.json"].replace(b"}", b" }"))
    forged = subprocess.run(verify, capture_output=True, text=True, check=False)
    assert forged.returncode != 0, "a changed manifest must not verify"


def test_without_signing_there_is_no_pass(settings: Any) -> None:
    member = enroll("+79161234567")
    client = logged_in(member)
    assert "Apple Wallet" not in client.get("/me/card/").content.decode()
    assert client.get("/me/card/kopilka.pkpass").status_code == 404
    from django.test import Client

    assert Client().get("/me/card/kopilka.pkpass").url == "/login/"
