"""Vouchers as the engine reads them, checked as the member's own, unused and valid."""

from collections.abc import Sequence
from datetime import datetime

from django.utils.translation import gettext as _

from kopilka.core.errors import Conflict, DomainError
from kopilka.program.engine import VoucherTerms
from kopilka.rewards.models import Voucher


class VoucherNotFound(DomainError):
    code = "voucher_not_found"


class VoucherUsed(Conflict):
    code = "voucher_used"


class VoucherExpired(DomainError):
    code = "voucher_expired"


def vouchers_for(
    member_id: int | None, codes: Sequence[str], at: datetime
) -> tuple[VoucherTerms, ...]:
    """The terms of each voucher, in the order given, or the first problem: another member's
    voucher is "not found" (a code confirms nothing about anyone else's)."""
    if not codes:
        return ()
    if member_id is None:
        raise VoucherNotFound(
            _("Vouchers are used with the member's card."), fields={"vouchers": codes[0]}
        )
    found = {
        v.code: v
        for v in Voucher.objects.filter(code__in=codes, member_id=member_id).select_related(
            "reward"
        )
    }
    terms = []
    seen: set[str] = set()
    for code in codes:
        voucher = found.get(code)
        if voucher is None:
            raise VoucherNotFound(
                _("No voucher %(code)s for this member.") % {"code": code},
                fields={"vouchers": code},
            )
        if voucher.used_at is not None or code in seen:
            raise VoucherUsed(
                _("Voucher %(code)s is already used.") % {"code": code}, fields={"vouchers": code}
            )
        if voucher.valid_until <= at:
            raise VoucherExpired(
                _("Voucher %(code)s expired.") % {"code": code}, fields={"vouchers": code}
            )
        seen.add(code)
        terms.append(voucher_terms(voucher))
    return tuple(terms)


def voucher_terms(voucher: Voucher) -> VoucherTerms:
    """A voucher as the engine applies it: its code and its reward's terms."""
    reward = voucher.reward
    return VoucherTerms(
        code=voucher.code,
        name=reward.name,
        kind=reward.kind,  # type: ignore[arg-type]
        sku=reward.sku,
        category=reward.category,
        amount=reward.amount,
        percent=reward.percent,
    )
