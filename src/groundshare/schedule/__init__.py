"""Which contacts to book across the network: the problem, solvers, the validator, fairness."""

from groundshare.schedule.bound import upper_bound
from groundshare.schedule.check import Violation, check_schedule, objective
from groundshare.schedule.cpsat import CpsatModel, build_model, solve_cpsat
from groundshare.schedule.greedy import solve_greedy
from groundshare.schedule.plan import Plan
from groundshare.schedule.problem import AntennaSpec, Blackout, Candidate, PolicySpec, Problem, SatelliteSpec
from groundshare.schedule.rolling import solve_rolling
from groundshare.schedule.solve import solve

__all__ = ["AntennaSpec", "Blackout", "Candidate", "CpsatModel", "Plan", "PolicySpec", "Problem", "SatelliteSpec",
           "Violation", "build_model", "check_schedule", "objective", "solve", "solve_cpsat", "solve_greedy",
           "solve_rolling", "upper_bound"]
