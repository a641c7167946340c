"""``doppler``: one pass's Doppler table for radio software, as CSV.

The shift and its rate are ``link.doppler``'s, along the pass sampled by
``passes.track.sample_passes``; the pass is picked as ``track`` picks it (``pick_pass``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from groundshare.cli.console import clock_text, user_errors, write_stdout
from groundshare.cli.options import (
    DaysOpt,
    ElementsOpt,
    LinkOpt,
    NoradOpt,
    PassNumberOpt,
    StartOpt,
    StationNameOpt,
    StationsOpt,
)
from groundshare.cli.passes import pick_pass
from groundshare.errors import InvalidInputError
from groundshare.link import load_link_config
from groundshare.timeutil import format_utc

FrequencyOpt = Annotated[float | None, typer.Option(
    "--frequency-hz", metavar="HZ", min=1.0, show_default=False,
    help="Carrier frequency as transmitted; or give --link to take the link file's frequency_hz.")]
DopplerStepOpt = Annotated[float, typer.Option("--step", metavar="S", min=0.1, max=60.0,
                                               help="Seconds between rows.")]
UplinkOpt = Annotated[bool, typer.Option("--uplink", help="Give the frequency to transmit so that the "
                                                          "satellite receives --frequency-hz.")]
#: The table's columns, in order.
HEADER = "time_utc,frequency_hz,doppler_hz,doppler_rate_hz_s,range_rate_m_s,azimuth_deg,elevation_deg"


def doppler(ctx: typer.Context, elements: ElementsOpt, stations: StationsOpt, norad: NoradOpt,
            station: StationNameOpt, start: StartOpt, days: DaysOpt, pass_number: PassNumberOpt = 1,
            frequency_hz: FrequencyOpt = None, link: LinkOpt = None, step: DopplerStepOpt = 1.0,
            uplink: UplinkOpt = False) -> None:
    """Print one pass's Doppler table as CSV: time, frequency to tune to, shift and its rate.

    Columns: time_utc, frequency_hz, doppler_hz, doppler_rate_hz_s, range_rate_m_s,
    azimuth_deg, elevation_deg.
    """
    from groundshare.link.doppler import doppler_rate_hz_s, doppler_shift_hz
    from groundshare.passes.track import sample_passes

    with user_errors(ctx):
        if (frequency_hz is None) == (link is None):
            raise InvalidInputError("give the carrier with exactly one of --frequency-hz or --link",
                                    loc=("--frequency-hz",))
        carrier_hz = frequency_hz if frequency_hz is not None else load_link_config(link).link.frequency_hz
        picked = pick_pass(elements, stations, norad=norad, station=station, start=start, days=days,
                           pass_number=pass_number)
        track = sample_passes(picked.table, [picked.satellite], [picked.site], step_s=step)
        shift = doppler_shift_hz(carrier_hz, track.range_rate_km_s)
        rate = doppler_rate_hz_s(carrier_hz, track.range_accel_km_s2)
        tuned = carrier_hz - shift if uplink else carrier_hz + shift
        lines = [HEADER]
        for i in range(len(track)):
            when = format_utc(datetime.fromisoformat(str(track.time[i])).replace(tzinfo=UTC))
            lines.append(f"{when},{tuned[i]:.1f},{shift[i]:.1f},{rate[i]:.3f},"
                         f"{track.range_rate_km_s[i] * 1000.0:.3f},{track.az_deg[i]:.3f},{track.el_deg[i]:.3f}")
        write_stdout("\n".join(lines))
        p = picked.table[0]
        typer.echo(f"{p.name} (NORAD {norad}) over {station}: AOS {clock_text(p.aos)}, LOS {clock_text(p.los)} UTC, "
                   f"max elevation {p.max_elevation_deg:.1f}°, {len(track)} rows"
                   + ("; clipped by the window" if p.clipped else ""), err=True)
