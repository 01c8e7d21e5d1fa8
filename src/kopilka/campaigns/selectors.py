"""Who a campaign is for: the audiences a marketer can name."""

from django.utils.translation import gettext as _

from kopilka.campaigns.models import Campaign, CampaignMember
from kopilka.core.errors import DomainError
from kopilka.members.models import Member


class AudienceInvalid(DomainError):
    code = "audience_invalid"


def audience_member_ids(spec: str) -> list[int]:
    """Member ids of `all` (the active members), `rfm:SEGMENT` (that segment of the latest
    analytics snapshot) or `campaign:KEY` (that campaign's target group)."""
    from kopilka.analytics.labels import SEGMENTS
    from kopilka.analytics.selectors import segment_member_ids, snapshot_latest

    kind, _sep, value = spec.partition(":")
    if spec == "all":
        return list(Member.objects.filter(status=Member.Status.ACTIVE).values_list("id", flat=True))
    if kind == "rfm" and value:
        if value not in SEGMENTS:
            raise AudienceInvalid(
                _("Unknown RFM segment “%(segment)s”; the segments: %(all)s.")
                % {"segment": value, "all": ", ".join(SEGMENTS)}
            )
        snapshot = snapshot_latest()
        if snapshot is None:
            raise AudienceInvalid(
                _("There are no RFM segments yet: the analytics have not been computed.")
            )
        return sorted(segment_member_ids(snapshot, value))
    if kind == "campaign" and value:
        source = Campaign.objects.filter(key=value).first()
        if source is None:
            raise AudienceInvalid(_("No campaign has the key “%(key)s”.") % {"key": value})
        targets = CampaignMember.objects.filter(campaign=source, in_control=False)
        return list(targets.values_list("member_id", flat=True))
    raise AudienceInvalid(
        _("The audience is all, rfm:SEGMENT or campaign:KEY, not “%(spec)s”.") % {"spec": spec}
    )
