"""The digital card's images: the QR code of the rotating token and a Code 128 barcode of the
card number (for tills with a plain barcode scanner), as SVG."""

import io

import segno
from barcode import Code128
from barcode.writer import SVGWriter


def qr_svg(data: str) -> bytes:
    out = io.BytesIO()
    segno.make_qr(data, error="m").save(out, kind="svg", scale=8, border=2, xmldecl=False)
    return out.getvalue()


def barcode_svg(number: str) -> bytes:
    out = io.BytesIO()
    Code128(number, writer=SVGWriter()).write(
        out, options={"module_height": 18.0, "font_size": 0, "text_distance": 0, "quiet_zone": 4}
    )
    return out.getvalue()
