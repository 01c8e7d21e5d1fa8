"""The digital card's images: the QR code of the rotating token and a Code 128 barcode of the
card number (for tills with a plain barcode scanner), as SVG."""

import io
import re

import segno
from barcode import Code128


def qr_svg(data: str) -> bytes:
    out = io.BytesIO()
    segno.make_qr(data, error="m").save(out, kind="svg", scale=8, border=2, xmldecl=False)
    return out.getvalue()


QUIET = 10  # modules of white on each side, as Code 128 asks


def barcode_svg(number: str, height: int = 50) -> bytes:
    """The bars in module units with a viewBox, so the page scales them to any width and the
    edges stay sharp (`crispEdges`)."""
    (modules,) = Code128(number).build()
    bars = [(m.start(), len(m.group())) for m in re.finditer("1+", modules)]
    width = len(modules) + 2 * QUIET
    rects = "".join(f'<rect x="{x + QUIET}" width="{w}" height="{height}"/>' for x, w in bars)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width * 3}" height="{height * 3}" shape-rendering="crispEdges">'
        f'<rect width="{width}" height="{height}" fill="#fff"/><g fill="#000">{rects}</g></svg>'
    ).encode()
