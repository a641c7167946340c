"""Where and when each satellite is visible from each station."""

from groundshare.passes.horizon import HorizonMask
from groundshare.passes.look import look_angles
from groundshare.passes.search import find_passes
from groundshare.passes.site import Site
from groundshare.passes.table import Pass, PassTable

__all__ = ["HorizonMask", "Pass", "PassTable", "Site", "find_passes", "look_angles"]
