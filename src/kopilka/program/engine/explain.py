"""The program in plain sentences, in the active language: what `GET /api/v1/program`, the
portal, the cashier screen and the printed materials say about it.

Pure: a `Program` in, sentences out; Django's translation is imported inside the functions, so
the module imports without Django configured (wording it needs Django, like `reasons`). Every
sentence follows the engine's arithmetic (`engine/stages.py`): points are earned on the money
actually paid (after discounts and points); a rule's `earn_percent` replaces the rate and every
`earn_multiplier` multiplies it; on each item the highest-priority `exclusive` rule alone
applies, otherwise every `stack` rule and the one `best` rule worth most; `bonus_points` rules
combine the same way among themselves, once per receipt. Rules are told in the engine's order
(priority, then code), never in the order they were written.
"""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from kopilka.program.engine.values import ACTIONS, LAW_EXCLUDED, Action, Program, Rule, When

WORKDAYS = frozenset({1, 2, 3, 4, 5})
WEEKEND = frozenset({6, 7})


def _rule_order(rule: Rule) -> tuple[int, str]:
    return -rule.priority, rule.code


def _percent(value: Decimal) -> str:
    """Decimal("5.00") -> "5", Decimal("100") -> "100", Decimal("12.50") -> "12.5"."""
    return format(value.normalize(), "f")


def _rubles(kopecks: int) -> str:
    """100 -> "1", 30000 -> "300", 150 -> "1.50": roubles as people write a price."""
    whole, cents = divmod(kopecks, 100)
    return str(whole) if cents == 0 else f"{whole}.{cents:02d}"


def _day(value: date) -> str:
    from django.utils.formats import date_format

    return date_format(value)


def _names(rules: Sequence[Rule]) -> str:
    return ", ".join(f"«{rule.name}»" for rule in rules)


def _earns_points(program: Program) -> bool:
    """Whether a member of this program can ever hold points (and so pay with them)."""
    if program.mode == "points" and program.earn_percent > 0:
        return True
    return any(
        rule.then.points_per_unit
        or rule.then.bonus_points
        or (rule.then.earn_percent or 0) > 0
        or (program.mode == "points" and rule.then.earn_multiplier is not None)
        for rule in program.rules
    )


def program_explained(program: Program) -> list[str]:
    """The program in sentences: its mode, points' life, each rule, and what is excluded."""
    sentences = [*_mode(program)]
    if _earns_points(program):
        sentences += _points(program)
    rules = sorted(program.rules, key=_rule_order)
    sentences += [_rule(rule, rules, program) for rule in rules]
    sentences += _combination(rules)
    sentences += _tiers(program)
    sentences += _bonuses(program)
    sentences += _exclusions(program)
    return sentences


def _tiers(program: Program) -> list[str]:
    """Each tier with its threshold, terms and privileges, and how tiers move."""
    from django.utils.translation import gettext as _
    from django.utils.translation import ngettext

    if not program.tiers:
        return []
    sentences = [
        ngettext(
            "Tiers count what you spend in the last %(days)s day, returns deducted; a tier is "
            "reached with the purchase that crosses its threshold, and its terms apply from the "
            "next purchase.",
            "Tiers count what you spend in the last %(days)s days, returns deducted; a tier is "
            "reached with the purchase that crosses its threshold, and its terms apply from the "
            "next purchase.",
            program.tier_window_days,
        )
        % {"days": program.tier_window_days}
    ]
    for tier in program.tiers:
        terms = []
        if tier.earn_multiplier != 1:
            terms.append(
                _("points ×%(multiplier)s") % {"multiplier": _percent(tier.earn_multiplier)}
            )
        if tier.discount_percent:
            terms.append(_("%(percent)s%% off") % {"percent": _percent(tier.discount_percent)})
        if tier.redeem_max_percent is not None:
            terms.append(
                _("points pay up to %(percent)s%% of a receipt")
                % {"percent": _percent(tier.redeem_max_percent)}
            )
        terms += list(tier.privileges)
        sentence = _("«%(tier)s» from %(spend)s ₽") % {
            "tier": tier.name,
            "spend": _rubles(tier.qualify_spend),
        }
        sentences.append(f"{sentence}: {'; '.join(terms)}." if terms else f"{sentence}.")
    sentences.append(
        ngettext(
            "A tier is kept while the spend stays above its threshold; below it, it is kept %(days)s "
            "more day before it is lowered.",
            "A tier is kept while the spend stays above its threshold; below it, it is kept %(days)s "
            "more days before it is lowered.",
            program.tier_grace_days,
        )
        % {"days": program.tier_grace_days}
    )
    return sentences


def _bonuses(program: Program) -> list[str]:
    """The points given for events, not purchases."""
    from django.utils.translation import gettext as _
    from django.utils.translation import ngettext

    bonuses = program.bonuses
    sentences = []
    if bonuses.welcome is not None:
        points = bonuses.welcome.points
        text = ngettext("%(points)s point for joining.", "%(points)s points for joining.", points)
        sentences.append(text % {"points": points})
    if bonuses.profile_completed is not None:
        points = bonuses.profile_completed.points
        text = ngettext(
            "%(points)s point once your email and birth date are filled in.",
            "%(points)s points once your email and birth date are filled in.",
            points,
        )
        sentences.append(text % {"points": points})
    if bonuses.birthday is not None:
        birthday = bonuses.birthday
        text = ngettext(
            "%(points)s point for your birthday, %(before)s days before it; it lasts until "
            "%(after)s days after it.",
            "%(points)s points for your birthday, %(before)s days before it; they last until "
            "%(after)s days after it.",
            birthday.points,
        )
        sentences.append(
            text
            % {
                "points": birthday.points,
                "before": birthday.days_before,
                "after": birthday.days_after,
            }
        )
    if bonuses.referral is not None:
        referral = bonuses.referral
        sentences.append(
            _(
                "Invite a friend with your code: once their first purchase has stood %(days)s "
                "days, points go to both — %(friend)s to the friend, %(referrer)s to you."
            )
            % {
                "days": referral.after_days,
                "friend": referral.friend_points,
                "referrer": referral.referrer_points,
            }
        )
    return sentences


def _mode(program: Program) -> list[str]:
    from django.utils.translation import gettext as _

    name = program.name
    if program.mode == "discount":
        return [
            _("«%(name)s»: a discount card.") % {"name": name},
            _("%(percent)s%% off every purchase with the card.")
            % {"percent": _percent(program.discount_percent)},
        ]
    if program.mode == "accumulating_discount":
        sentences = [
            _("«%(name)s»: a discount that grows with your purchases.") % {"name": name},
            _(
                "The discount depends on the total you have spent since joining, returns "
                "deducted, and applies from the next purchase after a level is reached."
            ),
        ]
        for level in program.discount_levels:
            if level.from_spend == 0:
                sentences.append(
                    _("%(percent)s%% off from the first purchase.")
                    % {"percent": _percent(level.percent)}
                )
            else:
                sentences.append(
                    _("%(percent)s%% off once you have spent %(spend)s ₽.")
                    % {"percent": _percent(level.percent), "spend": _rubles(level.from_spend)}
                )
        return sentences
    sentences = [_("«%(name)s»: bonus points.") % {"name": name}]
    if program.earn_percent > 0:
        sentences.append(
            _("%(percent)s%% of the money paid comes back as points (1 point = %(value)s ₽).")
            % {"percent": _percent(program.earn_percent), "value": _rubles(program.point_value)}
        )
    else:
        sentences.append(_("Purchases earn points only through the offers below."))
    return sentences


def _points(program: Program) -> list[str]:
    from django.utils.translation import gettext as _
    from django.utils.translation import ngettext

    sentences = []
    if program.mode != "points":
        sentences.append(
            _("1 point = %(value)s ₽ when paying.") % {"value": _rubles(program.point_value)}
        )
    if program.redeem_max_percent > 0:
        sentences.append(
            _("Points can pay for up to %(percent)s%% of a receipt.")
            % {"percent": _percent(program.redeem_max_percent)}
        )
    else:
        sentences.append(_("Points cannot pay for purchases."))
    if program.pending_days:
        sentences.append(
            ngettext(
                "Points earned become available %(days)s day after the purchase.",
                "Points earned become available %(days)s days after the purchase.",
                program.pending_days,
            )
            % {"days": program.pending_days}
        )
    sentences.append(
        ngettext(
            "Points are valid for %(days)s day.",
            "Points are valid for %(days)s days.",
            program.expiry_days,
        )
        % {"days": program.expiry_days}
    )
    return sentences


def _rule(rule: Rule, rules: Sequence[Rule], program: Program) -> str:
    from django.utils.translation import gettext as _

    text = _("«%(name)s»: %(conditions)s — %(effect)s") % {
        "name": rule.name,
        "conditions": ", ".join(_conditions(rule.when)),
        "effect": ", ".join([_effect(rule, program), *_limits(rule), *_combine(rule, rules)]),
    }
    return text + "."


def _conditions(when: When) -> list[str]:
    from django.utils.dates import WEEKDAYS_ABBR
    from django.utils.translation import gettext as _
    from django.utils.translation import ngettext

    parts: list[str] = []
    if when.weekdays is not None and len(when.weekdays) < 7:
        if when.weekdays == WORKDAYS:
            parts.append(_("on weekdays"))
        elif when.weekdays == WEEKEND:
            parts.append(_("at weekends"))
        else:
            days = ", ".join(str(WEEKDAYS_ABBR[day - 1]) for day in sorted(when.weekdays))
            parts.append(_("on %(days)s") % {"days": days})
    start, end = when.time_from, when.time_to
    if start is not None and end is not None:
        parts.append(
            _("from %(start)s to %(end)s")
            % {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}
        )
    elif start is not None:
        parts.append(_("from %(start)s") % {"start": start.strftime("%H:%M")})
    elif end is not None:
        parts.append(_("until %(end)s") % {"end": end.strftime("%H:%M")})
    first, last = when.date_from, when.date_to
    if first is not None and last is not None:
        parts.append(
            _("from %(first)s through %(last)s") % {"first": _day(first), "last": _day(last)}
        )
    elif first is not None:
        parts.append(_("starting %(first)s") % {"first": _day(first)})
    elif last is not None:
        parts.append(_("through %(last)s") % {"last": _day(last)})
    # A label before a list, not a count: singular for one code, plural for more (ngettext
    # would pick Russian's "one" form for 21 codes).
    labels = (
        (when.stores, _("store: %(list)s"), _("stores: %(list)s")),
        (when.categories, _("category: %(list)s"), _("categories: %(list)s")),
        (when.skus, _("item: %(list)s"), _("items: %(list)s")),
    )
    for codes, one, several in labels:
        if codes is not None:
            label = one if len(codes) == 1 else several
            parts.append(label % {"list": ", ".join(sorted(codes))})
    if when.min_receipt is not None:
        parts.append(
            _("on a receipt of %(money)s ₽ or more") % {"money": _rubles(when.min_receipt)}
        )
    if when.enrolled_within_days is not None:
        parts.append(
            ngettext(
                "in the first %(days)s day after joining",
                "in the first %(days)s days after joining",
                when.enrolled_within_days,
            )
            % {"days": when.enrolled_within_days}
        )
    return parts or [_("on every purchase")]


def _effect(rule: Rule, program: Program) -> str:
    from django.utils.translation import gettext as _
    from django.utils.translation import ngettext

    then = rule.then
    if then.earn_multiplier is not None:
        return _("points ×%(multiplier)s") % {"multiplier": _percent(then.earn_multiplier)}
    if then.earn_percent is not None:
        if program.mode == "points":
            return _("%(percent)s%% back in points instead of %(usual)s%%") % {
                "percent": _percent(then.earn_percent),
                "usual": _percent(program.earn_percent),
            }
        return _("%(percent)s%% back in points") % {"percent": _percent(then.earn_percent)}
    if then.points_per_unit is not None:
        return ngettext(
            "%(points)s point for each unit",
            "%(points)s points for each unit",
            then.points_per_unit,
        ) % {"points": then.points_per_unit}
    if then.bonus_points is not None:
        return ngettext(
            "%(points)s bonus point once per receipt",
            "%(points)s bonus points once per receipt",
            then.bonus_points,
        ) % {"points": then.bonus_points}
    assert then.discount_percent is not None
    return _("%(percent)s%% off") % {"percent": _percent(then.discount_percent)}


def _limits(rule: Rule) -> list[str]:
    from django.utils.translation import ngettext

    parts = []
    if rule.limit.per_member_per_day is not None:
        count = rule.limit.per_member_per_day
        parts.append(
            ngettext("at most %(count)s time a day", "at most %(count)s times a day", count)
            % {"count": count}
        )
    if rule.limit.per_member_per_month is not None:
        count = rule.limit.per_member_per_month
        parts.append(
            ngettext("at most %(count)s time a month", "at most %(count)s times a month", count)
            % {"count": count}
        )
    return parts


def _combine(rule: Rule, rules: Sequence[Rule]) -> list[str]:
    """What the rule's combine mode means next to the other rules of the program."""
    from django.utils.translation import gettext as _

    # Every rule, receipt bonuses included, combines with the others on the items it applies to
    # (engine/stages.py).
    family = [other for other in rules if other is not rule]
    if rule.combine == "best":
        rivals = [other for other in family if other.combine == "best"]
        if not rivals:
            return []
        return [
            _("does not add up with %(others)s: the one worth more to you applies")
            % {"others": _names(rivals)}
        ]
    if rule.combine == "exclusive":
        ahead = [
            other
            for other in family
            if other.combine == "exclusive" and _rule_order(other) < _rule_order(rule)
        ]
        text = _("replaces every other offer on the items it applies to")
        if ahead:
            text = _("%(text)s, unless %(others)s applies") % {
                "text": text,
                "others": _names(ahead),
            }
        return [text]
    return []


def _combination(rules: Sequence[Rule]) -> list[str]:
    from django.utils.translation import gettext as _

    stacking = [rule for rule in rules if rule.combine == "stack"]
    if len(rules) >= 2 and stacking:
        if len(stacking) == len(rules):
            return [_("The offers add up.")]
        return [_("The other offers add up.")]
    return []


def _exclusions(program: Program) -> list[str]:
    from django.utils.translation import gettext as _

    sentences = []
    excluded = {
        category: actions for category, actions in program.excluded_categories.items() if actions
    }
    if all(excluded.get(category, frozenset()) >= set(ACTIONS) for category in LAW_EXCLUDED):
        sentences.append(
            _(
                "Tobacco and nicotine products: no points or discounts are given and points "
                "cannot pay for them (15-FZ, art. 16)."
            )
        )
        for category in LAW_EXCLUDED:
            excluded.pop(category)
    for category, actions in sorted(excluded.items()):
        sentences.append(
            _("%(category)s: %(actions)s.") % {"category": category, "actions": _actions(actions)}
        )
    if sentences and any(rule.when.min_receipt is not None for rule in program.rules):
        sentences.append(_("Excluded items do not count towards a receipt's minimum amount."))
    return sentences


def _actions(actions: frozenset[Action]) -> str:
    from django.utils.translation import gettext as _

    names = {
        "earn": _("no points are earned"),
        "discount": _("no discounts"),
        "redeem": _("points cannot pay for it"),
    }
    return ", ".join(names[action] for action in ACTIONS if action in actions)
