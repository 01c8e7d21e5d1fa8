"""What the staff cheat-sheet says, every figure from the program in force."""

from django.utils.translation import gettext as _

from kopilka.core.money import number_text, rubles_text
from kopilka.program.engine import Program
from kopilka.program.engine.explain import program_explained


def how_it_works(program: Program) -> list[str]:
    return [str(s) for s in program_explained(program)[:5]]


def what_to_say(program: Program) -> list[str]:
    worth = rubles_text(100 * program.point_value)
    lines = [
        _("“Do you have our card? It takes a minute: your phone and the code from the SMS.”"),
        _("“You have 100 points: that is %(money)s off this receipt. Shall we use them?”")
        % {"money": worth},
        _("“60 points burn on 1 March: better spend them today.”"),
    ]
    if program.tiers:
        tier = program.tiers[0]
        gives = tier.privileges[0] if tier.privileges else ""
        lines.append(
            _("“%(money)s more to %(tier)s: %(gives)s.”")
            % {"money": rubles_text(tier.qualify_spend), "tier": tier.name, "gives": gives}
        )
    lines.append(_("“You can take a reward for your points: look in the card on your phone.”"))
    return lines


def common_questions(program: Program) -> list[tuple[str, str]]:
    return list(common_answers(program).values())


def common_answers(program: Program) -> dict[str, tuple[str, str]]:
    """The ten common questions with their answers, by a stable key (the quiz asks them too)."""
    excluded = sorted(program.excluded_categories) or [_("none")]
    tiers = "; ".join(
        f"{t.name} ({_('from')} {rubles_text(t.qualify_spend)}): {', '.join(t.privileges)}"
        for t in program.tiers
    ) or _("The program has no tiers.")
    return {
        "balance": (
            _("How many points do I have?"),
            _("On the phone: the card page shows them; at the till we say it after the scan."),
        ),
        "expiry": (
            _("When do points burn?"),
            _(
                "%(days)s days after the purchase that earned them; we warn by message a month ahead."
            )
            % {"days": number_text(program.expiry_days)},
        ),
        "tobacco": (
            _("Why no points on tobacco?"),
            _(
                "The law forbids any discount or points on tobacco and nicotine (15-FZ art. 16). "
                "Categories without points or discounts: %(list)s."
            )
            % {"list": ", ".join(excluded)},
        ),
        "join": (
            _("How do I join?"),
            _("Scan the QR code on the poster, or tell us your phone here: a code comes by SMS."),
        ),
        "phone_card": (
            _("How do I use the card from the phone?"),
            _(
                "Open the card page and show the QR code; it changes every minute, a screenshot "
                "will not work for someone else. The card number works too."
            ),
        ),
        "tiers": (_("What does a tier give?"), tiers),
        "returns": (
            _("How do returns work?"),
            _(
                "Points earned on what comes back are taken back; points paid are given back, in "
                "proportion to what is returned."
            ),
        ),
        "stop": (
            _("How do I stop the advertising?"),
            _(
                "The link in any message, STOP in reply to an SMS, /stop in Telegram, or the "
                "switches in the profile."
            ),
        ),
        "delete": (
            _("How do I delete my data?"),
            _(
                "On the card's page: “My data” → “Delete my account”. The card is blocked and the "
                "personal data erased."
            ),
        ),
        "lost_phone": (
            _("I lost my phone"),
            _(
                "Log in from another phone with the same number and the SMS code, or give us the "
                "card number: the points are kept. Points pay %(money)s each."
            )
            % {"money": rubles_text(program.point_value)},
        ),
    }
