"""The campaigns stage: link rotating numbers into campaigns with stable ids."""

from __future__ import annotations

from typing import Any

from callradar.campaigns.link import LinkResult, link_campaigns
from callradar.config import Config

__all__ = ["LinkResult", "campaigns_stage", "link_campaigns"]


def campaigns_stage(store: Any, config: Config) -> LinkResult:
    """Pipeline stage: rebuild campaign memberships."""
    return link_campaigns(store, config)
