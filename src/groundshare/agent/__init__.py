"""The station agent: executes booked contacts by driving the antenna and the radio through Hamlib.

- ``hamlib``: line-protocol clients of ``rotctld`` (rotator) and ``rigctld`` (radio) that
  reconnect when a daemon restarts;
- ``tables``: the 1 Hz pointing table and Doppler tables of a pass, the rotator's azimuth
  path (0/360 wrap, flip mode) and slew times;
- ``clock``: the wall clock, or a simulated one for rehearsals and tests;
- ``journal``: contacts and unsent reports on local disk (and the one-agent-per-station lock);
- ``client``: the API routes the agent calls;
- ``runner``: ``StationAgent`` (schedule, lease, clock check, execution, reports) and
  ``PassExecutor`` (one pass on the hardware, also behind ``groundshare track``).
"""

from groundshare.agent.clock import SimulatedClock, WallClock
from groundshare.agent.hamlib import (
    HamlibError,
    Rig,
    Rotator,
    RotatorLimits,
    parse_address,
)
from groundshare.agent.journal import Journal
from groundshare.agent.runner import AgentOptions, Execution, PassExecutor, StationAgent, run_agent
from groundshare.agent.tables import (
    AzimuthPath,
    PointingTable,
    plan_azimuth_path,
    pointing_table,
    pre_position_lead_s,
    slew_time_s,
)

__all__ = [
    "AgentOptions",
    "AzimuthPath",
    "Execution",
    "HamlibError",
    "Journal",
    "PassExecutor",
    "PointingTable",
    "Rig",
    "Rotator",
    "RotatorLimits",
    "SimulatedClock",
    "StationAgent",
    "WallClock",
    "parse_address",
    "plan_azimuth_path",
    "pointing_table",
    "pre_position_lead_s",
    "run_agent",
    "slew_time_s",
]
