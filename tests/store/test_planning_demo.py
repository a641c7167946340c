"""Planning the real demo network: every reason a run gives is true of the database.

``make run`` loads the demo network and books its first two days (``groundshare demo load
--plan-days 2``).  A later run over a window that overlaps them (``groundshare schedule
plan``, ``POST /schedule/runs``) must explain each unserved request by what really stands
in the way: a booking holds the antenna (``busy``, naming the contact, which is live, on
that antenna, at that time), the organisation's own contact already serves the satellite
(``busy``), a sharing policy's blackout or band (``not_allowed``, naming the policy), its
weekly hours (``policy_hours``, with the hours as stored and as booked), a contact chosen
by the same plan (``blocked``) or no pass at all (``no_visibility``).  The demo has no
blackouts of its own: the test adds one, narrows a policy to another band and asks for a
contact longer than any pass, so that every kind the store can give is met.

One organisation's run (``POST /schedule/runs``) names only contacts it may see.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from groundshare.api import Settings, create_app
from groundshare.cli import app as cli_app
from groundshare.passes import find_passes
from groundshare.store import (
    Antenna,
    Contact,
    ContactRequest,
    ContactStatus,
    ElementSetRecord,
    Organisation,
    Satellite,
    SharingPolicy,
    Station,
    create_engine_for,
    make_session_factory,
    newest_element_set,
    session_scope,
)
from groundshare.store.planning import build_problem
from groundshare.store.policy import booked_hours, week_start
from groundshare.timeutil import parse_utc
from groundshare.units import HOUR_S

pytestmark = pytest.mark.slow

#: The later run: the demo's second and third days (the load booked the first two).
LATER_START = datetime(2025, 11, 8, tzinfo=UTC)
LATER_DAYS = 2
LATER_END = LATER_START + timedelta(days=LATER_DAYS)
#: The blackout this test gives Daejeon's policy for AEM (the demo has none).
BLACKOUT = (datetime(2025, 11, 8, 6, tzinfo=UTC), datetime(2025, 11, 8, 18, tzinfo=UTC))
#: Longer than any pass of a demo CubeSat (LEO passes last minutes).
NO_SUCH_PASS_S = 3000.0

KARI = "Korea Aerospace Research Institute (KARI)"
AEM = "Agencia Espacial Mexicana (AEM)"
UQROO = "Universidad Autónoma del Estado de Quintana Roo"


@dataclass
class Demo:
    """The demo database after ``demo load --plan-days 2`` and this test's additions."""

    url: str
    tokens: dict[str, str]
    blackout_policy_id: int
    band_policy_id: int
    long_request_id: int


def cli(*args: str) -> str:
    result = CliRunner().invoke(cli_app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Demo:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'groundshare.db'}"
    cli("db", "upgrade", "--database-url", url)
    loaded = cli("demo", "load", "--plan-days", "2", "--database-url", url)
    tokens = dict(line.split("\t") for line in loaded.splitlines())
    engine = create_engine_for(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            orgs = {o.name: o.id for o in session.scalars(select(Organisation))}
            assert session.scalars(select(Contact)).first() is not None, "demo load --plan-days 2 booked nothing"
            daejeon = session.scalars(select(Antenna).join(Station).where(Station.name == "daejeon")).one()
            cordoba = session.scalars(select(Antenna).join(Station).where(Station.name == "cordoba")).one()
            blackout = session.scalars(select(SharingPolicy).where(SharingPolicy.antenna_id == daejeon.id,
                                                                   SharingPolicy.grantee_org_id == orgs[AEM])).one()
            blackout.blackout_windows = [{"start": BLACKOUT[0].isoformat(), "end": BLACKOUT[1].isoformat()}]
            band = session.scalars(select(SharingPolicy).where(SharingPolicy.antenna_id == cordoba.id,
                                                               SharingPolicy.grantee_org_id == orgs[KARI])).one()
            band.bands = ["s"]  # Córdoba's antenna is UHF
            satellite = session.scalars(select(Satellite).where(Satellite.org_id == orgs[KARI])
                                        .order_by(Satellite.id)).first()
            long_request = ContactRequest(org_id=orgs[KARI], satellite_id=satellite.id, window_start=LATER_START,
                                          window_end=LATER_END, min_duration_s=NO_SUCH_PASS_S)
            # Requests that only the blackout and the band stand in the way of: a window around one pass over the
            # policy's antenna, meeting no pass over any other antenna the organisation may use.
            session.add_all([lone_request(session, orgs[AEM], "daejeon", BLACKOUT),
                             lone_request(session, orgs[KARI], "cordoba", (LATER_START, LATER_END)), long_request])
            # The university registers the NORAD number of KARI's satellite too (numbers are unique per
            # organisation), and asks for it: two satellites of one number in one run.
            twin = Satellite(org_id=orgs[UQROO], norad_id=satellite.norad_id, name=f"{satellite.name} (UQROO)")
            session.add(twin)
            session.flush()
            record = newest_element_set(session, satellite.id)
            session.add(ElementSetRecord(satellite_id=twin.id, epoch=record.epoch, format=record.format,
                                         text=record.text, source=record.source))
            session.add(ContactRequest(org_id=orgs[UQROO], satellite_id=twin.id, window_start=LATER_START,
                                       window_end=LATER_END, min_duration_s=120.0))
            session.flush()
            demo = Demo(url, tokens, blackout.id, band.id, long_request.id)
    finally:
        engine.dispose()
    return demo


def lone_request(session, org_id: int, station_name: str, within: tuple[datetime, datetime]) -> ContactRequest:
    """Return a request of one of ``org_id``'s satellites for 5 minutes around its only pass over one station.

    The pass lies in ``within``, and no pass over another station the organisation may use
    (its own, or shared with it) meets the window.
    """
    usable = {s.id: s for s in session.scalars(select(Station).where(Station.org_id == org_id))}
    usable |= {p.antenna.station_id: p.antenna.station for p in
               session.scalars(select(SharingPolicy).where(SharingPolicy.grantee_org_id == org_id))}
    sites = [type(site)(str(station_id), lat_deg=site.lat_deg, lon_deg=site.lon_deg, alt_m=site.alt_m,
                        min_elevation_deg=site.min_elevation_deg, horizon_mask=site.horizon_mask)
             for station_id, site in ((i, s.to_site()) for i, s in usable.items())]
    [target] = [i for i, s in usable.items() if s.name == station_name]
    margin = timedelta(minutes=5)
    for satellite in session.scalars(select(Satellite).where(Satellite.org_id == org_id).order_by(Satellite.id)):
        table = find_passes([newest_element_set(session, satellite.id).to_element_set()], sites, start=within[0],
                            duration_s=(within[1] - within[0]).total_seconds(), workers=1)
        for p in table:
            if p.station != str(target) or p.clipped or p.max_elevation_deg < 15 or p.duration_s < 300:
                continue
            if not any(q.station != str(target) and q.aos < p.los + margin and q.los > p.aos - margin for q in table):
                return ContactRequest(org_id=org_id, satellite_id=satellite.id, window_start=p.aos - margin,
                                      window_end=p.los + margin, min_duration_s=120.0, min_elevation_deg=10.0)
    raise AssertionError(f"no lone pass over {station_name} for organisation {org_id}")


@pytest.fixture(scope="module")
def later(demo) -> dict:
    """The whole network's dry run over the later window, as ``groundshare schedule plan`` prints it."""
    return json.loads(cli("schedule", "plan", "--start", "2025-11-08T00:00Z", "--days", str(LATER_DAYS), "--dry-run",
                          "--time-limit", "20", "--workers", "2", "--database-url", demo.url))


@pytest.fixture
def session(demo) -> Iterator:
    engine = create_engine_for(demo.url)
    try:
        with session_scope(make_session_factory(engine), write=False) as session:
            yield session
    finally:
        engine.dispose()


def notes_of(reason: dict) -> list[str]:
    """Return the per-pass notes of a reason's message (at most five are shown)."""
    return re.sub(r"; and \d+ more$", "", reason["message"].split(": ", 1)[1]).split("; ")


ANTENNA_BUSY = re.compile(r"pass (?P<pass>\S+): antenna (?P<antenna>\d+) is busy from (?P<t0>\S+) to (?P<t1>\S+) "
                          r"\((?:contact (?P<contact>\d+), booked by (?P<org>.+)|an existing booking)\)$")
SATELLITE_BUSY = re.compile(r"pass (?P<pass>\S+): satellite (?P<satellite>\d+) already has contact (?P<contact>\d+) "
                            r"of (?P<org>.+) from (?P<t0>\S+) to (?P<t1>\S+)$")
PASS_ID = re.compile(r"r(?P<request>\d+):a(?P<antenna>\d+):(?P<aos>\S+)$")


def candidate_window(session, request_id: int, antenna: Antenna, aos: datetime) -> tuple[datetime, datetime]:
    """Return the part of the request's pass over the antenna's station that starts at ``aos`` (to the millisecond)."""
    request = session.get(ContactRequest, request_id)
    table = find_passes([newest_element_set(session, request.satellite_id).to_element_set()],
                        [antenna.station.to_site()], start=aos - timedelta(hours=2), duration_s=6 * HOUR_S, workers=1)
    [p] = [p for p in table if p.aos <= aos + timedelta(milliseconds=1) and p.los > aos]
    return aos, min(p.los, request.window_end, LATER_END)


def check_busy_note(session, note: str, *, seen_by: int | None = None) -> str:
    """Check a ``busy`` note against the database; return which hold it names ("antenna" or "satellite")."""
    if m := ANTENNA_BUSY.match(note):
        p = PASS_ID.match(m["pass"])
        assert p["antenna"] == m["antenna"]
        antenna = session.get(Antenna, int(m["antenna"]))
        aos, los = candidate_window(session, int(p["request"]), antenna, parse_utc(p["aos"]))
        t0, t1 = parse_utc(m["t0"]), parse_utc(m["t1"])
        # The hold meets the pass's own hold of the antenna: setup before, turnaround after.
        assert t0 < los + timedelta(seconds=antenna.turnaround_s) and t1 > aos - timedelta(seconds=antenna.setup_s)
        held = session.scalars(select(Contact).where(
            Contact.antenna_id == antenna.id, Contact.start_time == t0, Contact.busy_until == t1,
            Contact.status.in_((ContactStatus.SCHEDULED, ContactStatus.IN_PROGRESS)))).one()
        if m["contact"] is None:  # unnamed: the reader may not see it
            assert seen_by is not None and held.org_id != seen_by and antenna.station.org_id != seen_by
        else:
            assert held.id == int(m["contact"]) and held.organisation.name == m["org"]
            assert seen_by is None or seen_by in (held.org_id, antenna.station.org_id)
        return "antenna"
    m = SATELLITE_BUSY.match(note)
    assert m is not None, note
    request = session.get(ContactRequest, int(PASS_ID.match(m["pass"])["request"]))
    held = session.get(Contact, int(m["contact"]))
    assert held.satellite_id == request.satellite_id == int(m["satellite"])
    assert held.org_id == request.org_id and held.organisation.name == m["org"]  # its own contact serves it
    assert held.status in (ContactStatus.SCHEDULED, ContactStatus.IN_PROGRESS)
    assert (held.start_time, held.end_time) == (parse_utc(m["t0"]), parse_utc(m["t1"]))
    return "satellite"


def test_a_later_run_explains_each_unserved_request_by_what_is_in_the_way(demo, later, session):
    by_kind: dict[str, list[dict]] = {}
    for reason in later["unserved"]:
        by_kind.setdefault(reason["kind"], []).append(reason)
    assert {"no_visibility", "not_allowed", "busy", "policy_hours", "blocked"} <= set(by_kind)
    text = json.dumps(later)
    assert "blacked out" not in text  # nothing in the store is a bare blackout; bookings are "busy"
    assert later["violations"] == [] and later["dry_run"] is True

    holds = {check_busy_note(session, note) for r in by_kind["busy"] for note in notes_of(r)}
    assert holds == {"antenna", "satellite"}

    band_antenna = session.get(SharingPolicy, demo.band_policy_id).antenna_id
    for reason in by_kind["not_allowed"]:
        for note in notes_of(reason):
            blackout = (f"sharing policy {demo.blackout_policy_id} of {KARI} on antenna" in note
                        and "has a blackout from 2025-11-08T06:00:00.000Z to 2025-11-08T18:00:00.000Z" in note)
            band = (f"sharing policy {demo.band_policy_id} of " in note
                    and note.endswith(f"shares only the s band(s), and antenna {band_antenna} is uhf"))
            assert blackout or band, note

    stored = re.compile(r"pass (?P<pass>\S+): sharing policy (?P<policy>\d+) of (?P<owner>.+) allows (?P<grantee>.+) "
                        r"(?P<hours>[\d.]+) h per week on antenna (?P<antenna>\d+) and (?P=grantee) already holds "
                        r"(?P<held>[\d.]+) h in the week of (?P<week>\S+), and this plan already uses "
                        r"(?P<used>[\d.]+) h of the (?P<left>[\d.]+) h left that week$")
    for reason in by_kind["policy_hours"]:
        for note in notes_of(reason):
            m = stored.match(note)
            assert m is not None, note
            policy = session.get(SharingPolicy, int(m["policy"]))
            assert (policy.antenna_id, policy.grantee.name, policy.owner.name) == (int(m["antenna"]), m["grantee"],
                                                                                    m["owner"])
            assert float(m["hours"]) == policy.hours_per_week
            monday = datetime.fromisoformat(m["week"]).replace(tzinfo=UTC)
            assert monday == week_start(monday) and monday < LATER_END and monday + timedelta(days=7) > LATER_START
            held = booked_hours(session, antenna_id=policy.antenna_id, org_id=policy.grantee_org_id, since=monday,
                                until=monday + timedelta(days=7))
            assert float(m["held"]) == pytest.approx(held, abs=0.005)
            assert float(m["left"]) == pytest.approx(policy.hours_per_week - held, abs=0.005)

    chosen = set(later["plan"]["contacts"])
    for reason in by_kind["blocked"]:
        assert reason["blockers"] and {b["pass_id"] for b in reason["blockers"]} <= chosen

    [long] = [r for r in by_kind["no_visibility"] if r["request"] == f"request {demo.long_request_id}"]
    assert f"has no pass over any antenna for {NO_SUCH_PASS_S:g} s or more in" in long["message"]


def test_every_pass_left_out_names_a_true_reason(demo, session):
    run = build_problem(session, start=LATER_START, end=LATER_END, workers=1)
    kinds = {lo.kind for lo in run.left_out}
    assert kinds == {"busy", "not_allowed"}
    for lo in run.left_out:
        assert lo.note.startswith(f"pass {lo.pass_id}: ") and lo.pass_id not in run.problem.pass_index
        if lo.kind == "busy":
            check_busy_note(session, lo.note)
    # Nothing booked is a blackout of the problem any more, and every candidate is clear of every live hold.
    assert run.problem.blackouts == []
    live = list(session.scalars(select(Contact).where(Contact.status == ContactStatus.SCHEDULED)))
    antennas = {a.id: a for a in session.scalars(select(Antenna))}
    for c in run.problem.passes:
        antenna = antennas[int(c.antenna)]
        busy = (c.start - timedelta(seconds=antenna.setup_s), c.end + timedelta(seconds=antenna.turnaround_s))
        assert not any(h.antenna_id == antenna.id and h.start_time < busy[1] and h.busy_until > busy[0]
                       for h in live), c.id


def test_one_organisations_run_names_only_what_it_may_see(demo, session):
    orgs = {o.name: o for o in session.scalars(select(Organisation))}
    caller = orgs[UQROO]
    app = create_app(Settings(database_url=demo.url))
    try:
        response = TestClient(app).post(
            "/schedule/runs", json={"start": "2025-11-08T00:00:00Z", "hours": 24 * LATER_DAYS, "time_limit_s": 10},
            headers={"Authorization": f"Bearer {demo.tokens[UQROO]}"})
    finally:
        app.state.engine.dispose()
    assert response.status_code == 201, response.text
    body = response.json()
    own = {a.id for a in session.scalars(select(Antenna).join(Station).where(Station.org_id == caller.id))}
    shared = {p.antenna_id for p in session.scalars(select(SharingPolicy)
                                                    .where(SharingPolicy.grantee_org_id == caller.id))}
    visible_owners = {session.get(Antenna, a).station.organisation.name for a in own | shared}
    lines = {line["organisation"]: line for line in body["fairness"]["organisations"]}
    assert set(lines) == visible_owners | {UQROO}
    horizon_h = 24.0 * LATER_DAYS
    for name, line in lines.items():  # each visible antenna over the horizon, nothing subtracted for bookings
        count = sum(1 for a in own | shared if session.get(Antenna, a).station.organisation.name == name)
        assert line["contributed_h"] == pytest.approx(count * horizon_h)
    for note in (note for r in body["unserved"] if r["kind"] == "busy" for note in notes_of(r)):
        check_busy_note(session, note, seen_by=caller.id)
    for contact_id in re.findall(r"contact (\d+)", json.dumps(body)):
        contact = session.get(Contact, int(contact_id))
        assert caller.id in (contact.org_id, contact.antenna.station.org_id), contact_id


def test_one_organisations_left_out_passes_name_only_what_it_may_see(demo, session):
    caller = session.scalars(select(Organisation).where(Organisation.name == UQROO)).one()
    run = build_problem(session, start=LATER_START, end=LATER_END, org_id=caller.id, workers=1)
    busy = [lo.note for lo in run.left_out if lo.kind == "busy"]
    # Partners' contacts on the antennas they share with it hold them, unnamed; its own are named.
    unnamed = [note for note in busy if note.endswith("(an existing booking)")]
    assert unnamed and len(unnamed) < len(busy)
    for note in busy:
        check_busy_note(session, note, seen_by=caller.id)


def test_two_satellites_of_one_norad_number_keep_their_own_passes(demo, session):
    run = build_problem(session, start=LATER_START, end=LATER_END, workers=1)
    requests = {r.id: r for r in session.scalars(select(ContactRequest))}
    twins = {r.satellite_id for r in requests.values()
             if session.get(Satellite, r.satellite_id).norad_id == session.scalars(
                 select(Satellite).join(Organisation).where(Organisation.name == KARI).order_by(Satellite.id)
             ).first().norad_id}
    assert len(twins) == 2
    for pass_id, source in run.sources.items():
        assert source.satellite_id == requests[source.request_id].satellite_id, pass_id
        assert run.problem.passes[run.problem.pass_index[pass_id]].satellite == str(source.satellite_id)
    assert twins <= {source.satellite_id for source in run.sources.values()}
