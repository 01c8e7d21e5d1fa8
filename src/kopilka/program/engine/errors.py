"""Requests the program forbids: 422s whose message is worded late, in the request's language."""

from kopilka.core.errors import DomainError


class QuoteError(DomainError):
    code: str = "quote_error"

    def describe(self) -> tuple[str, dict[str, str]]:
        message = self.explain()
        return message, {"redeem_points": message}

    def explain(self) -> str:
        return self._message


class InsufficientPoints(QuoteError):
    code = "insufficient_points"  # params: available, requested

    def explain(self) -> str:
        from django.utils.translation import gettext as _

        return _("Not enough points: %(available)d available, %(requested)d asked.") % {
            "available": 0,
            "requested": 0,
            **self.params,
        }


class RedeemLimitExceeded(QuoteError):
    code = "redeem_limit_exceeded"  # params: max_redeemable, requested

    def explain(self) -> str:
        from django.utils.translation import gettext as _

        return _(
            "At most %(max_redeemable)d points can pay for this receipt, %(requested)d asked."
        ) % {"max_redeemable": 0, "requested": 0, **self.params}


class NoMemberToRedeem(QuoteError):
    code = "member_required"  # params: requested

    def explain(self) -> str:
        from django.utils.translation import gettext as _

        return _("Points can only be redeemed by a member: give member_id, card_number or phone.")


class VoucherNotApplicable(QuoteError):
    code = "voucher_not_applicable"  # params: voucher (its code)

    def describe(self) -> tuple[str, dict[str, str]]:
        message = self.explain()
        return message, {"vouchers": message}

    def explain(self) -> str:
        from django.utils.translation import gettext as _

        return _("Voucher %(voucher)s applies to nothing on this receipt.") % {
            "voucher": "",
            **self.params,
        }
