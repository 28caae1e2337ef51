"""``{% identity_badge performer %}``: "Identity verified" or "Authority verified", from the
one rule (``Performer.identity_standing``), on every page that names a performer."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from registry.models import IdentityStanding, Performer

register = template.Library()


@register.simple_tag
def identity_badge(performer: Performer) -> str:
    standing = performer.identity_standing()
    if standing is None:
        return ""
    title = (
        "An operator verified the performer's identity."
        if standing == IdentityStanding.IDENTITY
        else "An operator verified the authority of the representative who consents "
        "for this performer."
    )
    return format_html(
        '<span class="badge verified" title="{}">{}</span>',
        title,
        IdentityStanding(standing).label,
    )
