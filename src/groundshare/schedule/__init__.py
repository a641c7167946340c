"""Which contacts to book across the network: the problem, solvers, the validator, fairness."""

from groundshare.schedule.bound import upper_bound
from groundshare.schedule.candidates import candidates_from_passes, problem_from_network
from groundshare.schedule.check import Violation, check_schedule, objective
from groundshare.schedule.cpsat import CpsatModel, build_model, solve_cpsat
from groundshare.schedule.drift import BookedWindow, Drift, DriftKind, check_drift
from groundshare.schedule.explain import Reason, Request, explain_unserved
from groundshare.schedule.fairness import FairnessReport, fairness_report, jain_index, solve_fair
from groundshare.schedule.greedy import greedy_plan
from groundshare.schedule.plan import Plan
from groundshare.schedule.problem import AntennaSpec, Blackout, Candidate, PolicySpec, Problem, SatelliteSpec
from groundshare.schedule.repair import RepairResult, repair
from groundshare.schedule.rolling import solve_rolling
from groundshare.schedule.solve import solve, solve_greedy

__all__ = ["AntennaSpec", "Blackout", "BookedWindow", "Candidate", "CpsatModel", "Drift", "DriftKind",
           "FairnessReport", "Plan", "PolicySpec", "Problem", "Reason", "RepairResult", "Request", "SatelliteSpec",
           "Violation", "build_model", "candidates_from_passes", "check_drift", "check_schedule", "explain_unserved",
           "fairness_report", "greedy_plan", "jain_index", "objective", "problem_from_network", "repair", "solve",
           "solve_cpsat", "solve_fair", "solve_greedy", "solve_rolling", "upper_bound"]
