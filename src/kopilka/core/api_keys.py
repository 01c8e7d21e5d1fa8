"""API keys as the terminals and the staff's personal tokens have them: `<tag><prefix>_<secret>`,
shown once, stored as a SHA-256 hash and found by the public prefix.

A key has at least 190 bits of randomness, so a fast hash is enough (no password stretching
needed); comparing hashes in constant time keeps the prefix lookup from leaking the rest.
"""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

# A key's "last used" is written at most this often: a busy till does not update its row on
# every receipt.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def key_new(tag: str) -> tuple[str, str]:
    """A fresh random key: (its public prefix, the whole key)."""
    prefix = secrets.token_hex(4)
    return prefix, f"{tag}{prefix}_{secrets.token_urlsafe(24)}"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_matches(stored_hash: str, key: str) -> bool:
    return hmac.compare_digest(stored_hash, key_hash(key))


def key_prefix(key: str, tag: str) -> str | None:
    """The public prefix of a well-formed key (<tag><prefix>_<secret>), None for anything else."""
    if not key.startswith(tag) or key[len(tag) :].count("_") < 1 or not key.isascii():
        return None
    return key[len(tag) :].split("_", 1)[0] or None


def last_use_due(last_used_at: datetime | None, now: datetime) -> bool:
    """Whether a key used `now` should have its "last used" written again."""
    return last_used_at is None or now - last_used_at > LAST_USED_RESOLUTION
