"""How long an SMS is: its encoding, characters and parts, as operators bill them.

GSM 03.38 (7-bit): 160 characters in one part, 153 in each part of a longer message; the
extension table's characters (^ { } \\ [ ] ~ | €) take two. Anything outside it (Cyrillic, emoji)
is sent as UCS-2: 70 characters, 67 per part; a character beyond the Basic Multilingual Plane
takes two UTF-16 units.
"""

from dataclasses import dataclass

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "^{}\\[~]|€\f"
_BASIC, _EXTENSION = frozenset(GSM_BASIC), frozenset(GSM_EXTENSION)


@dataclass(frozen=True)
class SmsLength:
    encoding: str  # "gsm7" or "ucs2"
    characters: int  # as the text reads
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    parts: int


def sms_length(text: str) -> SmsLength:
    if all(ch in _BASIC or ch in _EXTENSION for ch in text):
        units = sum(2 if ch in _EXTENSION else 1 for ch in text)
        single, each = 160, 153
        encoding = "gsm7"
    else:
        units = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)
        single, each = 70, 67
        encoding = "ucs2"
    parts = 1 if units <= single else -(-units // each)
    return SmsLength(encoding, len(text), units, parts if text else 0)
