"""Persistence of the shared network: SQLAlchemy 2.0 models on SQLite or PostgreSQL.

>>> from groundshare.store import create_engine_for, init_db, make_session_factory
>>> engine = create_engine_for("sqlite://")
>>> init_db(engine)
>>> factory = make_session_factory(engine)
"""

from groundshare.store.booking import (
    UNCHECKED,
    BookingRules,
    DoubleBookingError,
    IdempotencyKeyReusedError,
    book_contact,
    cancel_contact,
    first_overlapping_contact,
    first_overlapping_uplink,
)
from groundshare.store.clock import (
    NetworkTime,
    clear_network_clock,
    network_now,
    network_time,
    set_network_clock,
)
from groundshare.store.db import (
    CommitOutcomeUnknownError,
    StoreSetupError,
    create_engine_for,
    default_database_path,
    default_database_url,
    init_db,
    is_transient,
    is_unavailable,
    make_session_factory,
    run_unit_of_work,
    session_scope,
)
from groundshare.store.guards import OVERLAP_GUARD
from groundshare.store.lease import LeaseHeldError, acquire_lease, release_lease
from groundshare.store.ledger import Ledger, LedgerRow, compute_ledger
from groundshare.store.models import (
    AgentLease,
    Antenna,
    ApiToken,
    Band,
    Base,
    Contact,
    ContactRequest,
    ContactStatus,
    ElementSetRecord,
    ElementTextFormat,
    NetworkClock,
    Organisation,
    OrgKind,
    RequestStatus,
    Role,
    Satellite,
    SharingPolicy,
    Station,
    hash_token,
    newest_element_set,
)
from groundshare.store.outcomes import report_outcome, start_contact
from groundshare.store.types import NaiveDatetimeError, UtcDateTime

__all__ = [
    "OVERLAP_GUARD",
    "UNCHECKED",
    "AgentLease",
    "Antenna",
    "ApiToken",
    "Band",
    "Base",
    "BookingRules",
    "CommitOutcomeUnknownError",
    "Contact",
    "ContactRequest",
    "ContactStatus",
    "DoubleBookingError",
    "ElementSetRecord",
    "ElementTextFormat",
    "IdempotencyKeyReusedError",
    "LeaseHeldError",
    "Ledger",
    "LedgerRow",
    "NaiveDatetimeError",
    "NetworkClock",
    "NetworkTime",
    "OrgKind",
    "Organisation",
    "RequestStatus",
    "Role",
    "Satellite",
    "SharingPolicy",
    "Station",
    "StoreSetupError",
    "UtcDateTime",
    "acquire_lease",
    "book_contact",
    "cancel_contact",
    "clear_network_clock",
    "compute_ledger",
    "create_engine_for",
    "default_database_path",
    "default_database_url",
    "first_overlapping_contact",
    "first_overlapping_uplink",
    "hash_token",
    "init_db",
    "is_transient",
    "is_unavailable",
    "make_session_factory",
    "network_now",
    "network_time",
    "newest_element_set",
    "release_lease",
    "report_outcome",
    "run_unit_of_work",
    "session_scope",
    "set_network_clock",
    "start_contact",
]
