"""The energy stage: which energy is really spare at each candidate site, in which hours, at what price."""

from gis.energy.profiles import PROFILE_SITE_COLUMNS, SurplusProfiles

__all__ = ["PROFILE_SITE_COLUMNS", "SurplusProfiles"]
