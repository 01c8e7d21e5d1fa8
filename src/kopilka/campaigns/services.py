"""Create campaigns with their audience split into target and a persistent control group."""

from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from kopilka.campaigns.control import control_split
from kopilka.campaigns.models import Campaign, CampaignMember
from kopilka.core import clock
from kopilka.core.audit import Actor, audit_record
from kopilka.core.errors import DomainError
from kopilka.core.sql import copy_rows


class CampaignInvalid(DomainError):
    code = "campaign_invalid"


@transaction.atomic
def campaign_create(
    *,
    key: str,
    name: str,
    control_share: Decimal,
    starts_on: date,
    ends_on: date,
    member_ids: list[int],
    actor: Actor,
) -> Campaign:
    """Create a campaign and split its audience into target and a persistent control group."""
    if not Decimal(0) <= control_share < Decimal(1):
        raise CampaignInvalid(_("The control group share must be from 0 up to 1 (not 1)."))
    if ends_on <= starts_on:
        raise CampaignInvalid(_("The campaign must end after it starts."))
    if not member_ids:
        raise CampaignInvalid(_("The campaign has nobody in its audience."))
    try:
        with transaction.atomic():  # the unique key decides between two launches at once
            campaign = Campaign.objects.create(
                key=key,
                name=name,
                control_share=control_share,
                starts_on=starts_on,
                ends_on=ends_on,
                created_at=clock.now(),
            )
    except IntegrityError:
        raise CampaignInvalid(
            _("A campaign with this key exists already: choose another key.")
        ) from None
    split = control_split(
        campaign_key=key, member_ids=sorted(set(member_ids)), control_share=float(control_share)
    )
    copy_rows(
        CampaignMember,
        ("campaign_id", "member_id", "in_control"),
        ((campaign.pk, member_id, in_control) for member_id, in_control in split.iter_rows()),
        skip_existing=False,  # the campaign was created just now
    )
    audit_record(
        actor=actor,
        action="campaigns.campaign_create",
        target_type="campaigns.campaign",
        target_id=campaign.pk,
        data={"audience": split.height, "control": int(split["in_control"].sum())},
    )
    return campaign
