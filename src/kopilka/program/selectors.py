import time

from django.conf import settings

from kopilka.program.engine import Rules
from kopilka.program.models import ProgramSettings

_cache: tuple[float, Rules] | None = None


def rules_from_settings(row: ProgramSettings | None) -> Rules:
    if row is None:
        return Rules()
    return Rules(
        earn_rate_bp=row.earn_rate_bp,
        max_redeem_share_bp=row.max_redeem_share_bp,
        pending_days=row.pending_days,
        expiry_days=row.expiry_days,
    )


def current_rules() -> Rules:
    """The program in force; cached per process for a few seconds, as every receipt reads it."""
    global _cache
    ttl = settings.KOPILKA_RULES_CACHE_SECONDS
    if _cache is not None and time.monotonic() - _cache[0] < ttl:
        return _cache[1]
    rules = rules_from_settings(ProgramSettings.objects.order_by("pk").first())
    _cache = (time.monotonic(), rules)
    return rules


def rules_cache_clear() -> None:
    global _cache
    _cache = None
