"""The control group: a persistent random holdout.

Whether a member is held out of a campaign depends only on the campaign's key and the member's id
(a keyed BLAKE2b hash mapped to [0, 1)), so it never changes between runs, processes or
databases, and every campaign holds out a different random set. Campaigns and messages send
nothing to a member in the control group.
"""

import hashlib
from collections.abc import Iterable

import polars as pl


def holdout_draw(*, campaign_key: str, member_id: int) -> float:
    """The member's uniform draw in [0, 1) for this campaign."""
    digest = hashlib.blake2b(
        str(member_id).encode(), key=campaign_key.encode()[:64], digest_size=8
    ).digest()
    return int.from_bytes(digest, "big") / 2**64


def in_control_group(*, campaign_key: str, member_id: int, control_share: float) -> bool:
    """True when the member is held out of the campaign (and must not be contacted)."""
    return holdout_draw(campaign_key=campaign_key, member_id=member_id) < control_share


def control_split(
    *, campaign_key: str, member_ids: Iterable[int], control_share: float
) -> pl.DataFrame:
    """member_id, in_control for an audience."""
    ids = list(member_ids)
    flags = [
        in_control_group(campaign_key=campaign_key, member_id=m, control_share=control_share)
        for m in ids
    ]
    return pl.DataFrame(
        {"member_id": ids, "in_control": flags}, schema={"member_id": pl.Int64, "in_control": bool}
    )
