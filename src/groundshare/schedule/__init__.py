"""Which contacts to book across the network: the problem, solvers, the validator, fairness."""

from groundshare.schedule.problem import AntennaSpec, Blackout, Candidate, PolicySpec, Problem, SatelliteSpec

__all__ = ["AntennaSpec", "Blackout", "Candidate", "PolicySpec", "Problem", "SatelliteSpec"]
