"""A plan: the chosen pass ids, their value, an honest upper bound and how it was found.

``objective`` and ``bound`` are in value units (the sum of ``value * priority`` of the
chosen passes, and an upper bound on that sum over every plan that keeps the rules).
``gap`` is ``(bound - objective) / bound`` (0 when the plan is proven optimal).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

PlanStatus = Literal["optimal", "feasible", "infeasible", "unknown"]
TINY = 1e-9


@dataclass
class Plan:
    """Chosen contacts (pass ids, sorted by start) with objective, bound and gap in value units.

    ``gap`` is computed from ``bound`` and ``objective`` when not given (None when there is
    no bound); it is 0 when ``status`` is ``"optimal"``. ``wall_s`` is the solve time in
    seconds; ``stats`` holds solver details (windows, fallbacks, messages).
    """

    status: str
    objective: float
    bound: float | None
    contacts: list[str]
    solver: str
    wall_s: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)
    gap: float | None = None

    def __post_init__(self) -> None:
        if self.status == "optimal":
            self.gap = 0.0
        elif self.gap is None and self.bound is not None:
            self.gap = plan_gap(self.objective, self.bound)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form: status, objective, bound, gap, contacts, solver, wall_s."""
        return {"status": self.status, "objective": self.objective, "bound": self.bound, "gap": self.gap,
                "contacts": list(self.contacts), "solver": self.solver, "wall_s": round(self.wall_s, 3)}


def plan_gap(objective: float, bound: float) -> float:
    """Return the relative gap ``(bound - objective) / max(bound, tiny)``, never below 0."""
    return max(0.0, (bound - objective) / max(bound, TINY))
