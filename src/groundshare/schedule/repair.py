"""Repair a booked plan after the problem changed, moving as few booked contacts as possible.

When element sets update, a station goes down or an urgent request arrives, the new
``Problem`` is built as usual and handed over with the pass ids booked before. Each booked
id falls into one of three groups:

- **lost**: the pass is gone from the new problem (its station is down, or a new element
  set moved it so it has a new id), or it is still there but no longer allowed (a
  blackout, a withdrawn policy). Nothing can keep it;
- **kept**: still possible and still in the repaired plan;
- **dropped** (moved): still possible, but the repaired plan gives its time to something
  else. These are the moves the repair minimises.

The repair is lexicographic, in two CP-SAT stages on the model of ``build_model``, each
hinted with the booked plan: first keep as many possible booked contacts as the rules
allow together with the locked passes and the ``urgent`` ones (which must be in the plan),
then, with that number of moves fixed, maximise value: the capacity the lost contacts
freed is refilled (``added``). When nothing changed, the booked plan is feasible and
nothing moves. Every owner is told what moved: the satellite's organisation and the
antenna's organisation each get a line per lost, dropped or added contact.

Measured (2-core machine, 8 workers, ``time_limit_s=5``) on seeded random 1-day networks of
10 antennas, 100 satellites, about 2,000 passes and 515-537 booked contacts: one antenna
down loses 42-59 contacts, moves none of the others (the rest of the plan stays feasible)
and books 30-40 new ones in 0.35-0.42 s; an urgent pass on top of a booked one moves 2
(0.4 %) in 0.8 s.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from groundshare.errors import ConflictError, InvalidInputError
from groundshare.schedule.explain import blocking_contacts
from groundshare.schedule.problem import Problem
from groundshare.timeutil import format_utc


@dataclass
class RepairResult:
    """The repaired plan and what changed against the booked one."""

    plan: Any
    kept: list[str]
    dropped: list[str]
    added: list[str]
    lost: list[str]
    booked_count: int
    messages: dict[str, list[str]] = field(default_factory=dict)

    @property
    def moved(self) -> list[str]:
        """Booked contacts that were still possible but were moved out of the plan."""
        return self.dropped

    @property
    def moved_fraction(self) -> float:
        """Dropped contacts over booked contacts (0.0 when nothing was booked)."""
        return len(self.dropped) / self.booked_count if self.booked_count else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"kept": self.kept, "dropped": self.dropped, "added": self.added, "lost": self.lost,
                "booked_count": self.booked_count, "moved_fraction": self.moved_fraction,
                "messages": self.messages, "objective": self.plan.objective, "status": self.plan.status,
                "wall_s": self.plan.wall_s}


def repair(problem: Problem, booked: Sequence[str], *, locked: Iterable[str] = (), urgent: Iterable[str] = (),
           time_limit_s: float = 5.0, workers: int = 8, previous: Problem | None = None,
           lost_reasons: dict[str, str] | None = None) -> RepairResult:
    """Return a plan for the changed ``problem`` that keeps as many ``booked`` contacts as possible.

    ``booked`` are the pass ids of the plan before (ids missing from ``problem`` are
    lost); ``locked`` adds to ``problem.locked``; ``urgent`` are pass ids that must be in
    the new plan (an urgent request). ``time_limit_s`` covers both stages. A
    ``ConflictError`` says which locked or urgent passes cannot go together.
    ``previous`` (the problem the booking was made on) names the owners of lost passes
    that are gone from ``problem``; ``lost_reasons`` may give, per lost pass id, why it
    went. Both only shape the owners' messages.
    """
    from groundshare.schedule.check import check_schedule
    from groundshare.schedule.cpsat import build_model

    t0 = time.monotonic()
    booked = list(dict.fromkeys(booked))
    forced = list(dict.fromkeys([*problem.locked, *locked, *urgent]))
    for pass_id in forced:
        if pass_id not in problem.pass_index:
            raise InvalidInputError(f"locked or urgent pass {pass_id!r} is not in the problem",
                                    loc=("urgent" if pass_id in set(urgent) else "locked",))
    problems = check_schedule(problem, forced)
    if problems:
        raise ConflictError("the locked and urgent passes break the rules together: "
                            + "; ".join(v.message for v in problems[:5])
                            + "\nUnlock one of them, or drop the urgent request that collides")
    present = [p for p in booked if p in problem.pass_index]
    lost = [p for p in booked if p not in problem.pass_index]
    lost += [p for p in present if not problem.allowed[problem.pass_index[p]]]
    possible = [p for p in present if problem.allowed[problem.pass_index[p]]]

    cm = build_model(problem, hint=possible, fixed=forced)
    model, x = cm.model, cm.x
    keep_vars = [x[problem.pass_index[p]] for p in possible if x[problem.pass_index[p]] is not None]
    stats: dict[str, Any] = {}
    hint = list(dict.fromkeys([*forced, *possible]))
    kept_count = len(keep_vars)
    if keep_vars:
        model.maximize(sum(keep_vars))
        stage, status = _solve(model, x, problem, hint, 0.4 * time_limit_s, workers)
        stats["keep_stage_status"] = status
        if stage is None:
            raise ConflictError(f"no plan keeps the locked and urgent passes (CP-SAT: {status}) within "
                                f"{time_limit_s:g} s; give the repair more time or fewer urgent passes")
        kept_count = len(set(stage) & set(possible))
        model.add(sum(keep_vars) >= kept_count)
        hint = stage
    w_int = np.asarray(cm.weights, dtype=np.int64)
    model.maximize(sum(int(w_int[i]) * v for i, v in enumerate(x) if v is not None and w_int[i] != 0))
    final, status = _solve(model, x, problem, hint, max(0.5, time_limit_s - (time.monotonic() - t0)), workers)
    stats["value_stage_status"] = status
    contacts = final if final is not None else hint
    stats.update({"booked": len(booked), "lost": len(lost), "kept": kept_count})

    from groundshare.schedule.fairness import _plan

    # "feasible": a repair keeps booked contacts first, so it is not the value optimum
    plan = _plan(problem, contacts, bound=None, solver="cpsat-repair", wall_s=time.monotonic() - t0, stats=stats)
    contacts = plan.contacts
    chosen_set = set(contacts)
    kept = [p for p in possible if p in chosen_set]
    dropped = [p for p in possible if p not in chosen_set]
    booked_set = set(booked)
    added = [p for p in contacts if p not in booked_set]
    messages = _messages(problem, contacts, dropped=dropped, added=added, lost=lost, previous=previous,
                         lost_reasons=lost_reasons or {})
    return RepairResult(plan=plan, kept=kept, dropped=dropped, added=added, lost=lost, booked_count=len(booked),
                        messages=messages)


def _solve(model: Any, x: Sequence[Any], problem: Problem, hint: Sequence[str], time_limit_s: float,
           workers: int) -> tuple[list[str] | None, str]:
    from groundshare.schedule.fairness import _solve_stage

    return _solve_stage(model, x, problem, hint, time_limit_s, workers)


def _describe(problem: Problem, pass_id: str) -> str:
    p = problem.passes[problem.pass_index[pass_id]]
    return f"{p.id} (satellite {p.satellite} on {p.antenna}, {format_utc(p.start)}..{format_utc(p.end)})"


def _messages(problem: Problem, contacts: Sequence[str], *, dropped: Sequence[str], added: Sequence[str],
              lost: Sequence[str], previous: Problem | None, lost_reasons: dict[str, str]) -> dict[str, list[str]]:
    """Return, per organisation, one line per contact of theirs (satellite or antenna) that moved.

    A lost pass that is in neither problem is reported under ``"*"`` (owner unknown).
    """
    out: dict[str, list[str]] = {}

    def tell(orgs: Iterable[str], line: str) -> None:
        for org in dict.fromkeys(orgs):
            out.setdefault(org, []).append(line)

    chosen = np.zeros(len(problem.passes), dtype=bool)
    chosen[problem.indexes(contacts)] = True
    for pass_id in lost:
        if pass_id in problem.pass_index:
            i = problem.pass_index[pass_id]
            why = lost_reasons.get(pass_id, "it is no longer allowed (blackout or policy)")
            tell([problem.satellite_org[i], problem.antenna_org[i]], f"contact {_describe(problem, pass_id)} is "
                                                                     f"cancelled: {why}")
        else:
            why = lost_reasons.get(pass_id, "the pass is no longer in the problem (station down or new element set)")
            if previous is not None and pass_id in previous.pass_index:
                i = previous.pass_index[pass_id]
                tell([previous.satellite_org[i], previous.antenna_org[i]],
                     f"contact {_describe(previous, pass_id)} is cancelled: {why}")
            else:
                out.setdefault("*", []).append(f"contact {pass_id} is cancelled: {why}")
    for pass_id in dropped:
        i = problem.pass_index[pass_id]
        blockers = blocking_contacts(problem, chosen, i)
        by = ", ".join(f"{b.pass_id} ({b.organisation}, priority {b.priority:g})" for b in blockers)
        tell([problem.satellite_org[i], problem.antenna_org[i]],
             f"contact {_describe(problem, pass_id)} is moved out" + (f" for {by}" if by else ""))
    for pass_id in added:
        i = problem.pass_index[pass_id]
        tell([problem.satellite_org[i], problem.antenna_org[i]], f"contact {_describe(problem, pass_id)} is booked")
    return out
