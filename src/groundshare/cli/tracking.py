"""``agent`` and ``track``: drive a station's rotator and radio (Hamlib rotctld/rigctld).

``agent`` runs a station for the shared network (``agent.runner.run_agent``); ``track``
follows one pass by hand, with no API and no booking (``agent.runner.PassExecutor``),
picking the pass as ``doppler`` does.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from groundshare.cli.console import clock_text, count, needs_extras, user_errors, write_stdout
from groundshare.cli.options import (
    DaysOpt,
    ElementsOpt,
    NoradOpt,
    PassNumberOpt,
    StartOpt,
    StationNameOpt,
    StationsOpt,
)
from groundshare.cli.passes import pick_pass
from groundshare.errors import InvalidInputError

if TYPE_CHECKING:
    from groundshare.agent.hamlib import Rig, Rotator

ApiUrlOpt = Annotated[str, typer.Option("--api", metavar="URL", show_default=False,
                                        help="The groundshare server, e.g. https://groundshare.example.org.")]
TokenOpt = Annotated[str, typer.Option("--token", metavar="TOKEN", envvar="GROUNDSHARE_TOKEN", show_default=False,
                                       help="An operator or admin token of the station's owner "
                                            "(or GROUNDSHARE_TOKEN).")]
AgentStationOpt = Annotated[str, typer.Option("--station", metavar="NAME", show_default=False,
                                              help="The station this agent runs, by its name in the API.")]
RotctldOpt = Annotated[str | None, typer.Option(
    "--rotctld", metavar="HOST:PORT", show_default=False,
    help="Hamlib rotctld of the antenna's rotator (port 4533 if left out); none: no rotator.")]
RigctldOpt = Annotated[str | None, typer.Option(
    "--rigctld", metavar="HOST:PORT", show_default=False,
    help="Hamlib rigctld of the radio, tuned for Doppler (port 4532 if left out); none: no radio.")]
JournalOpt = Annotated[Path | None, typer.Option(
    "--journal", metavar="FILE", show_default=False,
    help="The agent's journal (SQLite); default groundshare-agent-<station>.sqlite in the current folder.")]
OnceOpt = Annotated[bool, typer.Option("--once", help="Execute the next contact, report it and exit.")]
MaxClockOffsetOpt = Annotated[float, typer.Option(
    "--max-clock-offset-s", metavar="S", min=0.0,
    help="Refuse to execute while the system clock is further than this from the server's (warns past 1 s).")]
ToleranceOpt = Annotated[float, typer.Option(
    "--pointing-tolerance-deg", metavar="DEG", min=0.0, max=45.0,
    help="Send the rotator a new position once the target is this far from the last one sent.")]
SpeedOpt = Annotated[float | None, typer.Option(
    "--speed", metavar="X", min=0.001, show_default=False,
    help="Rehearse on a simulated clock running X times real time, from a little before AOS.")]
KissOpt = Annotated[str | None, typer.Option(
    "--kiss", metavar="HOST:PORT", show_default=False,
    help="Capture frames from the station's TNC over KISS TCP (Dire Wolf's KISSPORT; port 8001 if left out) from "
         "AOS minus the lead to LOS plus the tail; they are journaled, then uploaded.")]
KissForOpt = Annotated[list[str] | None, typer.Option(
    "--kiss-for", metavar="NORAD=HOST:PORT", show_default=False,
    help="Another KISS endpoint for one satellite (repeat for more); NORAD=none captures no frames for it.")]
CaptureCommandOpt = Annotated[str | None, typer.Option(
    "--capture-command", metavar="TEMPLATE", show_default=False,
    help="A shell command run from AOS to LOS, e.g. 'rtl_fm -f {frequency_hz} -s 48k - > {output_dir}/pass.raw'; "
         "placeholders {frequency_hz} {duration_s} {output_dir} {contact_id} {norad_id} {satellite} {start} {end} "
         "(shell-quoted); every file it leaves in {output_dir} is uploaded after LOS.")]
CaptureDirOpt = Annotated[Path | None, typer.Option(
    "--capture-dir", metavar="DIR", show_default=False,
    help="Where each contact's capture folder (contact-<id>) goes; default groundshare-captures-<station>.")]
CaptureTailOpt = Annotated[float, typer.Option(
    "--capture-tail-s", metavar="S", min=0.0, max=600.0,
    help="Keep capturing frames (and the capture command running) this long after LOS.")]
UplinkBitRateOpt = Annotated[float, typer.Option(
    "--uplink-bit-rate", metavar="BPS", min=50.0, max=10_000_000.0,
    help="The uplink's bit rate: in an uplink contact the agent writes a frame to the TNC only once the previous "
         "one's air time is over, so a transmit inhibit stops it at once.")]
UplinkTxDelayOpt = Annotated[float, typer.Option(
    "--uplink-txdelay-s", metavar="S", min=0.0, max=5.0, help="The TNC's TXDELAY (Dire Wolf's default 0.3 s).")]
InhibitReasonOpt = Annotated[str, typer.Option("--reason", help="Why transmission is stopped (kept on record).")]
LiftOpt = Annotated[bool, typer.Option("--lift", help="Lift the station's local inhibit instead.")]
InhibitApiOpt = Annotated[str | None, typer.Option(
    "--api", metavar="URL", show_default=False,
    help="Also record the inhibit with the groundshare server now (with --token), even with no agent running.")]
InhibitTokenOpt = Annotated[str | None, typer.Option(
    "--token", metavar="TOKEN", envvar="GROUNDSHARE_TOKEN", show_default=False,
    help="An operator or admin token of the station's owner, for --api (or GROUNDSHARE_TOKEN).")]
DownlinkOpt = Annotated[float | None, typer.Option(
    "--downlink-hz", metavar="HZ", min=1.0, help="Tune the radio to this downlink, Doppler-corrected.")]


def agent(ctx: typer.Context, station: AgentStationOpt, api: ApiUrlOpt, token: TokenOpt,
          rotctld: RotctldOpt = None, rigctld: RigctldOpt = None, journal: JournalOpt = None, once: OnceOpt = False,
          max_clock_offset_s: MaxClockOffsetOpt = 5.0, pointing_tolerance_deg: ToleranceOpt = 1.0,
          kiss: KissOpt = None, kiss_for: KissForOpt = None, capture_command: CaptureCommandOpt = None,
          capture_dir: CaptureDirOpt = None, capture_tail_s: CaptureTailOpt = 10.0,
          uplink_bit_rate: UplinkBitRateOpt = 1200.0, uplink_txdelay_s: UplinkTxDelayOpt = 0.3) -> None:
    """Run a station: pull its contacts, point the antenna and tune the radio through Hamlib, report outcomes.

    With --kiss (and --kiss-for per satellite) it captures the frames the station's TNC
    decodes, writes each to the journal first and uploads them in batches during and
    after the pass; with --capture-command it records each pass and uploads the files
    after LOS, resumably.  The outcome reports the frames and bytes received.

    In an uplink contact it relays the satellite operator's commands to the TNC on the
    same KISS connection, from AOS to LOS, paced to the uplink's bit rate, and reports
    each frame on air; a transmit inhibit (from the API, or 'groundshare inhibit' at
    the station) stops it at once.

    Contacts and reports are kept in a local journal, so an API outage or a restart
    loses nothing; a second agent for the same station refuses to start, but the same
    agent restarted on this machine with the same journal (after a crash) takes its
    lease back at once.

    The agent runs on the network's clock (GET /clock): on a shifted network, such as
    the demo at its element sets' epoch, it adopts the network's offset.  It takes at
    most 5,000 contacts from one schedule (MAX_SCHEDULE_CONTACTS; a larger schedule is
    refused whole); a malformed contact is reported failed with the field at fault.
    Use an https:// API URL: over plain http:// to another machine the token travels
    in clear text (the agent warns).  With nothing to do it says why.
    """
    needs_extras(ctx, "agent")
    from groundshare.agent.capture import CaptureOptions, parse_kiss_address, parse_kiss_for
    from groundshare.agent.client import AgentApi
    from groundshare.agent.journal import Journal
    from groundshare.agent.recording import check_capture_command
    from groundshare.agent.runner import AgentOptions, run_agent
    from groundshare.agent.uplink import UplinkOptions

    with user_errors(ctx):
        rotator, rig = _devices(rotctld, rigctld)
        capture = CaptureOptions(
            kiss=parse_kiss_address(kiss) if kiss else None, kiss_for=parse_kiss_for(kiss_for or []),
            capture_command=check_capture_command(capture_command) if capture_command is not None else None,
            capture_dir=capture_dir or Path(f"groundshare-captures-{station}"), tail_s=capture_tail_s)
        path = journal or Path(f"groundshare-agent-{station}.sqlite")
        with AgentApi(api, token) as client, Journal.open(path) as book:
            done = run_agent(station, api=client, journal=book, rotator=rotator, rig=rig, once=once,
                             options=AgentOptions(max_clock_offset_s=max_clock_offset_s,
                                                  pointing_tolerance_deg=pointing_tolerance_deg),
                             log=lambda line: typer.echo(line, err=True), capture=capture,
                             uplink=UplinkOptions(bit_rate=uplink_bit_rate, txdelay_s=uplink_txdelay_s))
        typer.echo(f"agent for {station} stopped after {count(done, 'contact')}", err=True)


def inhibit(ctx: typer.Context, station: AgentStationOpt, journal: JournalOpt = None, reason: InhibitReasonOpt = "",
            lift: LiftOpt = False, api: InhibitApiOpt = None, token: InhibitTokenOpt = None) -> None:
    """Stop all transmission from this station now, at the station itself (or --lift it).

    Writes the station's local transmit inhibit beside the agent's journal: a running
    agent writes nothing more to its TNC within a fraction of a second, settles the
    frames it holds as not sent, and records the inhibit with the API (so it is on
    record and the network queues nothing more for the station).  With --api and
    --token the command records it with the API itself, so it is on record even with no
    agent running.  It stays until lifted here; an inhibit recorded with the API is
    lifted there (DELETE /stations/{id}/transmit-inhibit) by the station's owner.
    """
    needs_extras(ctx, "agent")
    from groundshare.agent.uplink import inhibit_path, lift_local_inhibit, raise_local_inhibit
    from groundshare.timeutil import format_utc, utc_now

    with user_errors(ctx):
        path = journal or Path(f"groundshare-agent-{station}.sqlite")
        if lift:
            lifted = lift_local_inhibit(path)
            typer.echo(f"station {station}: the local transmit inhibit is lifted" if lifted
                       else f"station {station}: no local transmit inhibit was raised ({inhibit_path(path)})", err=True)
            return
        if api is not None and not token:
            raise InvalidInputError("--api needs --token (or GROUNDSHARE_TOKEN): a token of the station's owner",
                                    loc=("option", "--token"))
        now = utc_now()
        where = raise_local_inhibit(path, reason, at=now)  # first: it stops the agent whatever the API says
        typer.echo(f"station {station}: transmission inhibited at {format_utc(now)} ({where}); lift it with "
                   f"'groundshare inhibit --station {station} --lift'", err=True)
        if api is not None and token:
            from groundshare.agent.client import AgentApi

            with AgentApi(api, token) as client:
                found = client.find_station(station)
                record = client.raise_inhibit(found.id, f"raised at the station: {reason}" if reason
                                              else "raised at the station")
            typer.echo(f"station {station}: the inhibit is on record with the API (inhibit {record.get('id')}, "
                       f"raised at {record.get('raised_at')})", err=True)


def track(ctx: typer.Context, elements: ElementsOpt, stations: StationsOpt, norad: NoradOpt,
          station: StationNameOpt, start: StartOpt = "now", days: DaysOpt = 1.0, pass_number: PassNumberOpt = 1,
          downlink_hz: DownlinkOpt = None, rotctld: RotctldOpt = "127.0.0.1:4533", rigctld: RigctldOpt = None,
          speed: SpeedOpt = None, pointing_tolerance_deg: ToleranceOpt = 1.0) -> None:
    """Track one satellite by hand over its next pass: point the antenna (and tune the radio) through Hamlib.

    For testing an antenna: no API, no booking. Prints what was sent and read back.
    """
    needs_extras(ctx, "agent")
    from groundshare.agent.clock import SimulatedClock, WallClock
    from groundshare.agent.runner import AgentOptions, PassExecutor
    from groundshare.contact import ScheduledContact, ScheduledSatellite, StationSnapshot

    with user_errors(ctx):
        picked = pick_pass(elements, stations, norad=norad, station=station, start=start, days=days,
                           pass_number=pass_number, fix="widen --days")
        site, one = picked.site, picked.table[0]
        # A pass booked nowhere: contact 0, at a station of a stations file (id 0), tracked down to the horizon.
        contact = ScheduledContact(contact_id=0, start=one.aos, end=one.los, satellite=ScheduledSatellite(
            norad_id=norad, name=one.name, downlink_frequency_hz=downlink_hz))
        rotator, rig = _devices(rotctld, rigctld)
        options = AgentOptions(pointing_tolerance_deg=pointing_tolerance_deg)
        where = StationSnapshot(id=0, name=site.name, lat_deg=site.lat_deg, lon_deg=site.lon_deg, alt_m=site.alt_m)
        executor = PassExecutor(where, rotator=rotator, rig=rig, clock=WallClock(), options=options,
                                log=lambda line: typer.echo(line, err=True))
        if speed is not None:
            executor.clock = SimulatedClock(one.aos - timedelta(seconds=executor.lead_s(contact)), speed)
        typer.echo(f"tracking {one.name} (NORAD {norad}) over {station}: AOS {clock_text(one.aos)}, "
                   f"LOS {clock_text(one.los)} UTC, max elevation {one.max_elevation_deg:.1f}°", err=True)
        run = executor.run(contact, elements=picked.satellite)
        outcome = run.outcome("track")
        typer.echo(outcome["notes"], err=True)
        write_stdout(json.dumps(outcome, indent=1))
        if run.fatal:
            raise typer.Exit(1)


def _devices(rotctld: str | None, rigctld: str | None) -> tuple[Rotator | None, Rig | None]:
    """Return the rotator and radio clients of ``--rotctld`` and ``--rigctld`` (None where not given)."""
    from groundshare.agent.hamlib import Rig, Rotator, parse_address

    rotator = Rotator(*parse_address(rotctld, 4533)) if rotctld else None
    rig = Rig(*parse_address(rigctld, 4532)) if rigctld else None
    return rotator, rig
