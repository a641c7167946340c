"""How old an element set is, and whether that is still good enough: ``fresh``, ``stale`` or ``expired``.

SGP4's along-track error grows with the time since the element set's epoch: about 1 to
3 km a day for a low orbit under moderate solar activity (Vallado and Crawford, AIAA
2008-6770), so a pass predicted from a set a few days old is seconds off at AOS and one
two weeks old can be minutes off.  The thresholds are the network's settings
(``Settings.element_age_warning_s`` and ``element_age_error_s``); these are their defaults.

States, for an age ``age_s`` (now minus the epoch):

- ``fresh``: ``age_s < warning_s``;
- ``stale``: ``warning_s <= age_s < error_s`` (passes still shown, with a warning);
- ``expired``: ``age_s >= error_s``.

An epoch in the future (negative age) is ``fresh``.
"""

from __future__ import annotations

from datetime import datetime

from groundshare.errors import InvalidInputError
from groundshare.timeutil import require_utc
from groundshare.units import DAY_S

#: Age from which an element set is ``stale`` (seconds): 3 days.
DEFAULT_WARNING_S = 3 * DAY_S
#: Age from which an element set is ``expired`` (seconds): 14 days.
DEFAULT_ERROR_S = 14 * DAY_S

FRESH = "fresh"
STALE = "stale"
EXPIRED = "expired"
#: Every state, from best to worst.
AGE_STATES = (FRESH, STALE, EXPIRED)


def element_age_state(age_s: float, *, warning_s: float = DEFAULT_WARNING_S, error_s: float = DEFAULT_ERROR_S) -> str:
    """Return ``"fresh"``, ``"stale"`` or ``"expired"`` for an element set ``age_s`` seconds old.

    >>> element_age_state(3600.0)
    'fresh'
    >>> element_age_state(5 * 86400.0)
    'stale'
    >>> element_age_state(30 * 86400.0)
    'expired'
    """
    if not 0 < warning_s <= error_s:
        raise InvalidInputError(f"element age thresholds: warning_s={warning_s:g} and error_s={error_s:g} must satisfy "
                         "0 < warning_s <= error_s", loc=("warning_s",))
    if age_s >= error_s:
        return EXPIRED
    if age_s >= warning_s:
        return STALE
    return FRESH


def element_age_s(epoch: datetime, now: datetime) -> float:
    """Return ``now - epoch`` in seconds (both aware UTC)."""
    return (require_utc(now, "now") - require_utc(epoch, "epoch")).total_seconds()
