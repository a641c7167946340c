"""The station agent: executes booked contacts by driving the antenna and the radio through Hamlib.

- ``hamlib``: line-protocol clients of ``rotctld`` (rotator) and ``rigctld`` (radio) that
  reconnect when a daemon restarts;
- ``tables``: the 1 Hz pointing table and Doppler tables of a pass, the rotator's azimuth
  path (0/360 wrap, flip mode) and slew times;
- ``clock``: the network's clock (the wall clock plus the network's offset), the wall
  clock, or a simulated one for rehearsals and tests;
- ``journal``: contacts and unsent reports on local disk (and the one-agent-per-station lock);
- ``client``: the API routes the agent calls (and the warning for plain ``http://``);
- ``schedule``: the schedule as the agent takes it, checked field by field and bounded
  (``MAX_SCHEDULE_CONTACTS``); each contact a typed ``contact.ScheduledContact``;
- ``execution``: ``PassExecutor``, one pass on the hardware (also behind ``groundshare
  track``), and the ``Execution`` it reports;
- ``capture``: frames read from the station's TNC over KISS TCP during a contact, journalled
  before anything else, and the uploader that sends frames and artifacts home;
- ``recording``: the station's capture command (a recording) run from AOS to LOS;
- ``identity``: the agent's id, stable for a machine and a journal (the lease's holder);
- ``runner``: ``StationAgent`` (schedule, lease, clock check, execution, reports) and
  ``run_agent``.
"""

from groundshare.agent.clock import NetworkClock, SimulatedClock, WallClock
from groundshare.agent.execution import AgentOptions, Execution, PassExecutor
from groundshare.agent.hamlib import (
    HamlibError,
    Rig,
    Rotator,
    RotatorLimits,
    parse_address,
)
from groundshare.agent.identity import default_agent_id
from groundshare.agent.journal import Journal
from groundshare.agent.runner import StationAgent, run_agent
from groundshare.agent.schedule import MAX_SCHEDULE_CONTACTS, AgentSchedule
from groundshare.agent.tables import (
    AzimuthPath,
    PointingTable,
    plan_azimuth_path,
    pointing_table,
    pre_position_lead_s,
    slew_time_s,
)
from groundshare.contact import ScheduledContact

__all__ = [
    "MAX_SCHEDULE_CONTACTS",
    "AgentOptions",
    "AgentSchedule",
    "AzimuthPath",
    "Execution",
    "HamlibError",
    "Journal",
    "NetworkClock",
    "PassExecutor",
    "PointingTable",
    "Rig",
    "Rotator",
    "RotatorLimits",
    "ScheduledContact",
    "SimulatedClock",
    "StationAgent",
    "WallClock",
    "default_agent_id",
    "parse_address",
    "plan_azimuth_path",
    "pointing_table",
    "pre_position_lead_s",
    "run_agent",
    "slew_time_s",
]
