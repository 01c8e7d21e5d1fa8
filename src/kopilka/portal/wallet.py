"""The card as an Apple Wallet pass (`.pkpass`), where signing is configured (`KOPILKA_WALLET_*`).

A pass is a zip of `pass.json`, its images, `manifest.json` (the SHA-1 of every other file) and
`signature`: a detached PKCS#7 signature of the manifest, by the pass type certificate, carrying
Apple's WWDR intermediate certificate. The barcode is the card number (a rotating QR token cannot
live in a pass); the balance and the tier are as of the download.
"""

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from django.conf import settings
from django.utils.translation import gettext as _

from kopilka.core import clock
from kopilka.core.ids import card_number_text
from kopilka.core.money import number_text
from kopilka.ledger.selectors import member_balance
from kopilka.members.models import Member
from kopilka.members.selectors import member_card_number
from kopilka.members.tiers import tier_status
from kopilka.program.engine.explain import program_explained
from kopilka.program.selectors import program_in_force

IMAGES = Path(__file__).parent / "static" / "portal"
PASS_IMAGES = {  # name in the pass: our file
    "icon.png": "icon-192.png",
    "icon@2x.png": "icon-512.png",
    "logo.png": "icon-192.png",
}
GREEN, WHITE, LIGHT = "rgb(11,110,79)", "rgb(255,255,255)", "rgb(214,240,229)"


@dataclass(frozen=True)
class Signer:
    pass_type_id: str
    team_id: str
    organization: str
    certificate: x509.Certificate
    key: pkcs7.PKCS7PrivateKeyTypes
    intermediate: x509.Certificate


def wallet_signer() -> Signer | None:
    """The configured signer, or None when the pass is not offered (nothing is configured)."""
    conf = settings.KOPILKA_WALLET
    if not all(conf[k] for k in ("pass_type_id", "team_id", "certificate", "key", "wwdr")):
        return None
    password = conf["key_password"].encode() if conf["key_password"] else None
    key = serialization.load_pem_private_key(Path(conf["key"]).read_bytes(), password)
    return Signer(
        pass_type_id=conf["pass_type_id"],
        team_id=conf["team_id"],
        organization=conf["organization"],
        certificate=x509.load_pem_x509_certificate(Path(conf["certificate"]).read_bytes()),
        key=key,  # type: ignore[arg-type]
        intermediate=x509.load_pem_x509_certificate(Path(conf["wwdr"]).read_bytes()),
    )


def pass_document(member: Member, signer: Signer) -> dict[str, object]:
    number = member_card_number(member) or str(member.pk)
    now = clock.now()
    program = program_in_force(now)
    balance = member_balance(member.pk, now)
    status = tier_status(member, program, now)
    tier = status.tier.name if status and status.tier else ""
    barcode = {
        "format": "PKBarcodeFormatCode128",
        "message": number,
        "messageEncoding": "iso-8859-1",
        "altText": card_number_text(number),
    }
    secondary = [{"key": "tier", "label": _("Tier"), "value": tier}] if tier else []
    return {
        "formatVersion": 1,
        "passTypeIdentifier": signer.pass_type_id,
        "teamIdentifier": signer.team_id,
        "serialNumber": number,
        "organizationName": signer.organization,
        "description": _("Loyalty card"),
        "logoText": signer.organization,
        "foregroundColor": WHITE,
        "backgroundColor": GREEN,
        "labelColor": LIGHT,
        "barcodes": [barcode],
        "barcode": barcode,  # iOS before 9 reads only this one
        "storeCard": {
            "headerFields": [
                {"key": "card", "label": _("Card"), "value": barcode["altText"]},
            ],
            "primaryFields": [
                {"key": "points", "label": _("Points"), "value": number_text(balance.available)},
            ],
            "secondaryFields": secondary,
            "backFields": [
                {
                    "key": "how",
                    "label": _("How it works"),
                    "value": "\n".join(str(sentence) for sentence in program_explained(program)),
                },
            ],
        },
    }


def wallet_pass(member: Member, signer: Signer) -> bytes:
    """The signed `.pkpass` of the member's card."""
    files = {"pass.json": json.dumps(pass_document(member, signer), ensure_ascii=False).encode()}
    for name, ours in PASS_IMAGES.items():
        files[name] = (IMAGES / ours).read_bytes()
    manifest = json.dumps(
        {name: hashlib.sha1(body).hexdigest() for name, body in files.items()}, sort_keys=True
    ).encode()
    signature = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(manifest)
        .add_signer(signer.certificate, signer.key, hashes.SHA256())
        .add_certificate(signer.intermediate)
        .sign(
            serialization.Encoding.DER,
            [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary],
        )
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in {**files, "manifest.json": manifest, "signature": signature}.items():
            archive.writestr(name, body)
    return out.getvalue()
