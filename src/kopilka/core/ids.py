"""Card numbers: random digits with a Luhn check digit, so typos are caught and numbers can't be guessed."""

import secrets

CARD_PREFIX = "27"
CARD_LENGTH = 16


def luhn_check_digit(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:  # these get doubled once the check digit is appended
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return number.isdigit() and len(number) >= 2 and luhn_check_digit(number[:-1]) == number[-1]


def card_number_text(number: str) -> str:
    """ "2712345678901234" -> "2712 3456 7890 1234": as printed on the card and read aloud."""
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def new_card_number() -> str:
    body_length = CARD_LENGTH - len(CARD_PREFIX) - 1
    body = CARD_PREFIX + "".join(str(secrets.randbelow(10)) for _ in range(body_length))
    return body + luhn_check_digit(body)


REFERRAL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed by hand
REFERRAL_LENGTH = 8


def new_referral_code() -> str:
    """A member's code to invite friends with: 8 characters, 40 bits, unguessable in practice."""
    return "".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(REFERRAL_LENGTH))


VOUCHER_LENGTH = 12


def new_voucher_code() -> str:
    """A voucher's code: 12 characters of the referral alphabet, 60 bits: not guessable."""
    return "".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(VOUCHER_LENGTH))
