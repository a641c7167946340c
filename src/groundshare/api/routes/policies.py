"""Sharing policies: a station owner's grants of its antennas to partner organisations.

The antenna's owner (an admin or operator token) creates, changes and deletes them; the
grantee reads them (and gets 403 if it tries to change one); anyone else gets 404.
Bands are stored as ``Band`` values and blackout windows as ``{"start", "end"}`` ISO 8601
UTC text, the form ``store.policy`` reads when it checks a booking.  Every policy says
how much of its weekly hours the grantee holds this week (``week_start``,
``week_hours_used``; the week holding the network's clock), to owner and grantee alike.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from groundshare.api.deps import CurrentOrg, SessionDep, WriterToken
from groundshare.api.params import Limit, Offset, PathId
from groundshare.api.queries import get_visible, page, refuse_taken, require_owner, visible_antennas, visible_policies
from groundshare.api.schemas import (
    MAX_ID,
    PoliciesPublic,
    PolicyCreate,
    PolicyPublic,
    PolicyUpdate,
)
from groundshare.errors import InvalidInputError, NotFoundError
from groundshare.store import Antenna, Band, Organisation, SharingPolicy, network_now
from groundshare.store.policy import hours_held_in_week, week_start

router = APIRouter(prefix="/policies", tags=["policies"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_policy(body: PolicyCreate, session: SessionDep, org: CurrentOrg, _token: WriterToken) -> PolicyPublic:
    """Share one of the caller's antennas with a partner organisation, on the terms in the body.

    One policy per (antenna, grantee): a second is 409 naming the first (change it instead).
    """
    antenna = get_visible(session, visible_antennas(session, org), Antenna, body.antenna_id, "antenna")
    require_owner(org, antenna, "antenna", "share it")
    grantee = session.get(Organisation, body.grantee_org_id)
    if grantee is None:
        raise NotFoundError(f"organisation {body.grantee_org_id} (grantee_org_id) does not exist; GET /orgs lists "
                            "the organisations of the network")
    if grantee.id == org.id:
        raise InvalidInputError(f"grantee_org_id {grantee.id} is your own organisation; a policy shares an antenna "
                                "with a partner (your own antennas need no policy)", loc=("grantee_org_id",))
    bands = _antenna_bands(antenna, body.bands)
    refuse_taken(session, select(SharingPolicy.id).where(SharingPolicy.antenna_id == antenna.id,
                                                         SharingPolicy.grantee_org_id == grantee.id),
                 lambda taken: f"sharing policy {taken} already shares antenna {antenna.id} with {grantee.name}; "
                 f"change it with PATCH /policies/{taken} instead")
    policy = SharingPolicy(owner_org_id=org.id, grantee_org_id=grantee.id, antenna_id=antenna.id, bands=bands,
                           hours_per_week=body.hours_per_week, priority=body.priority,
                           blackout_windows=[w.stored() for w in body.blackout_windows],
                           uplink_allowed=body.uplink_allowed,
                           uplink_bands=_antenna_bands(antenna, body.uplink_bands, "uplink_bands"),
                           uplink_satellite_ids=list(dict.fromkeys(body.uplink_satellite_ids)))
    session.add(policy)
    session.flush()
    return policies_public(session, [policy])[0]


@router.get("")
def list_policies(
    session: SessionDep, org: CurrentOrg, offset: Offset = 0, limit: Limit = 100,
    role: Annotated[Literal["granted", "received"] | None, Query(
        description="granted: policies the caller gave; received: policies given to it; both when left out.")] = None,
    antenna_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> PoliciesPublic:
    """List the policies the caller granted and those granted to it, oldest first."""
    query = visible_policies(session, org)
    if role == "granted":
        query = query.where(SharingPolicy.owner_org_id == org.id)
    elif role == "received":
        query = query.where(SharingPolicy.grantee_org_id == org.id)
    if antenna_id is not None:
        query = query.where(SharingPolicy.antenna_id == antenna_id)
    rows, count = page(session, query, offset=offset, limit=limit, order_by=[SharingPolicy.id])
    return PoliciesPublic(data=policies_public(session, list(rows)), count=count)


@router.get("/{policy_id}")
def read_policy(policy_id: PathId, session: SessionDep, org: CurrentOrg) -> PolicyPublic:
    """Return one policy the caller granted or was granted (404 otherwise)."""
    return policies_public(session, [_visible_policy(session, org, policy_id)])[0]


@router.patch("/{policy_id}")
def update_policy(policy_id: PathId, body: PolicyUpdate, session: SessionDep, org: CurrentOrg,
                  _token: WriterToken) -> PolicyPublic:
    """Change the terms sent of a policy the caller granted; contacts already booked stay booked."""
    policy = _visible_policy(session, org, policy_id)
    require_owner(org, policy, "sharing policy", "change it")
    changes = body.changes()
    if body.bands is not None:
        changes["bands"] = _antenna_bands(policy.antenna, body.bands)
    if body.blackout_windows is not None:
        changes["blackout_windows"] = [w.stored() for w in body.blackout_windows]
    if body.uplink_bands is not None:
        changes["uplink_bands"] = _antenna_bands(policy.antenna, body.uplink_bands, "uplink_bands")
    if body.uplink_satellite_ids is not None:
        changes["uplink_satellite_ids"] = list(dict.fromkeys(body.uplink_satellite_ids))
    for field, value in changes.items():
        setattr(policy, field, value)
    session.flush()
    return policies_public(session, [policy])[0]


@router.delete("/{policy_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_policy(policy_id: PathId, session: SessionDep, org: CurrentOrg, _token: WriterToken) -> None:
    """Stop sharing: delete a policy the caller granted (contacts already booked stay booked)."""
    policy = _visible_policy(session, org, policy_id)
    require_owner(org, policy, "sharing policy", "delete it")
    session.execute(delete(SharingPolicy).where(SharingPolicy.id == policy.id))


def policies_public(session: Session, policies: list[SharingPolicy]) -> list[PolicyPublic]:
    """Return the public view of policies with the grantee's hours this week (one query for all)."""
    monday = week_start(network_now(session))
    held = hours_held_in_week(session, [(p.antenna_id, p.grantee_org_id) for p in policies], monday)
    return [PolicyPublic.model_validate(p).model_copy(update={
        "week_start": monday.date(), "week_hours_used": round(held[(p.antenna_id, p.grantee_org_id)], 6)})
        for p in policies]


def _visible_policy(session: Session, org: Organisation, policy_id: int) -> SharingPolicy:
    return get_visible(session, visible_policies(session, org), SharingPolicy, policy_id, "sharing policy")


def _antenna_bands(antenna: Antenna, bands: list[Band], field: str = "bands") -> list[str]:
    """Return ``bands`` (the body's ``field``) as stored (values, without repeats); each must be the antenna's band."""
    for index, band in enumerate(bands):
        if band is not antenna.band:
            raise InvalidInputError(
                f"{field}[{index}] is {band.value!r}, but antenna {antenna.id} ({antenna.name!r}) is "
                f"{antenna.band.value}; list only {antenna.band.value!r}, or leave {field} empty to "
                f"{'share every band of the antenna' if field == 'bands' else 'use the bands of the policy'}",
                loc=(field, index))  # an int index, as pydantic names list items
    return list(dict.fromkeys(b.value for b in bands))
