"""`_Encoding`: plans of at most a horizon of steps as a CP-SAT model, built once a decision."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ido.planner.grounding import Grounded

if TYPE_CHECKING:  # OR-Tools is imported when a model is built, not with the planner
    from ortools.sat.python import cp_model

    from ido.planner.cpmodel import Solved


class _Encoding:
    """Plans of at most `horizon` sequential steps as a CP-SAT model, without limits or objective.

    Actions with the same conditions, effects and footprint form a *group*: they differ in
    cost, latency and reliability only, so the plan's logic is posted once per group.
    `y[t, k]`: some action of group `k` is step `t`. `v[t, f, d]`: fact `f` has its `d`-th
    value before step `t`. At most one group per step, steps without one only at the end,
    frame axioms (a fact changes only when a step writes it), preconditions and the goal as
    clauses from the grounded truth tables.

    Which action of its group a step is: when the problem is monotone (`Grounded.monotone`)
    a group is a step at most once, so `z[a]` (action `a` is in the plan) says it, without
    a time; otherwise `x[t, a]` (action `a` is step `t`). `uses` pairs each action with its
    literals either way: a plan's cost, risk or score is the sum over them. A `timed`
    encoding, for the critical path (`ido.planner.critical`), keeps every action a group of
    its own, so `x[t, a]` is `y[t, k]`. Built once per decision (and kind) and cloned per
    solve.
    """

    def __init__(self, g: Grounded, horizon: int, actions: frozenset[int], timed: bool) -> None:
        self.grounded = g
        self.horizon = T = horizon
        self.actions = actions
        self.timed = timed
        self.monotone = g.monotone and not timed
        from ido.planner.cpmodel import Model

        model = self.model = Model()
        signatures: dict[tuple[object, ...], list[int]] = {}
        for a in sorted(actions):
            conditions = tuple((t.fluents, t.true_rows) for t in g.pre[a])
            # A timed model keeps every action apart: CP-SAT proves the critical path's
            # bound far faster on actions than on groups (measured: 0.1 s against more
            # than 10 s on benchmarks/plan_latency.py's deadline-bound problems).
            alone = a if timed else None
            signatures.setdefault((conditions, g.eff[a], g.footprints[a], alone), []).append(a)
        self.groups = groups = list(signatures.values())
        self.group_of = {a: k for k, members in enumerate(groups) for a in members}
        first = [g.earliest[members[0]] for members in groups]  # same conditions, same level
        y = self.y = {
            (t, k): model.new_bool_var(f"y{t}_{k}")
            for k in range(len(groups))
            for t in range(first[k], T)
        }
        acting = []
        for t in range(T):
            here = [y[t, k] for k in range(len(groups)) if (t, k) in y]
            busy = model.new_bool_var(f"busy{t}")
            model.add_exactly_one([*here, busy.Not()])
            acting.append(busy)
        for t in range(T - 1):
            model.add_implication(acting[t + 1], acting[t])
        v = {
            (t, f, d): model.new_bool_var(f"v{t}_{f}_{d}")
            for t in range(T + 1)
            for f, fluent in enumerate(g.fluents)
            for d in range(len(fluent.values))
        }
        for f, fluent in enumerate(g.fluents):
            for t in range(T + 1):
                model.add_exactly_one(v[t, f, d] for d in range(len(fluent.values)))
            model.add(v[0, f, 0] == 1)
        writers: dict[tuple[int, int], list[int]] = {}
        for k, members in enumerate(groups):
            for f, d in g.eff[members[0]]:
                writers.setdefault((f, d), []).append(k)
        for t in range(T):
            for f, fluent in enumerate(g.fluents):
                by_value = [
                    [k for k in writers.get((f, d), []) if (t, k) in y]
                    for d in range(len(fluent.values))
                ]
                any_w = [y[t, k] for ks in by_value for k in ks]
                # Frame axioms as clauses: a written value holds next (exactly-one clears the
                # others), a value appears only when written or already there, and stays
                # unless some step writes the fact.
                for d, ks in enumerate(by_value):
                    now, nxt = v[t, f, d], v[t + 1, f, d]
                    if not any_w:
                        model.add(nxt == now)
                        continue
                    w_d = [y[t, k] for k in ks]
                    for w in w_d:
                        model.add_implication(w, nxt)
                    model.add_bool_or([now.Not(), nxt, *any_w])
                    model.add_bool_or([nxt.Not(), now, *w_d])
            for k, members in enumerate(groups):
                if (t, k) not in y:
                    continue
                a = members[0]
                # A step must change something: optimal plans never need one that does not.
                model.add_bool_or([y[t, k].Not(), *(v[t, f, d].Not() for f, d in g.eff[a])])
                for table in g.pre[a]:
                    for row in table.false_rows:
                        model.add_bool_or(
                            [y[t, k].Not()] + [v[t, f, d].Not() for f, d in zip(table.fluents, row)]
                        )
        for table in g.goal:
            for row in table.false_rows:
                model.add_bool_or([v[T, f, d].Not() for f, d in zip(table.fluents, row)])
        self.uses: list[tuple[int, cp_model.IntVar]] = []
        self.z: dict[int, cp_model.IntVar] = {}
        self.x: dict[tuple[int, int], cp_model.IntVar] = {}
        for k, members in enumerate(groups):
            steps = [y[t, k] for t in range(first[k], T)]
            if self.monotone:
                for a in members:
                    self.z[a] = model.new_bool_var(f"z{a}")
                    self.uses.append((a, self.z[a]))
                model.add(sum(self.z[a] for a in members) == sum(steps))
                continue
            for t in range(first[k], T):
                if len(members) == 1:
                    self.x[t, members[0]] = y[t, k]
                else:
                    for a in members:
                        self.x[t, a] = model.new_bool_var(f"x{t}_{a}")
                    model.add(sum(self.x[t, a] for a in members) == y[t, k])
                self.uses += [(a, self.x[t, a]) for a in members]

    def taken(self, solver: Solved) -> list[int]:
        """The plan in a solved model (or in a solution, to a callback): its actions, step by
        step."""
        steps = []
        for (t, k), var in self.y.items():
            if not solver.boolean_value(var):
                continue
            members = self.groups[k]
            lit = self.z if self.monotone else {a: self.x[t, a] for a in members}
            a = next(a for a in members if solver.boolean_value(lit[a]))
            steps.append((t, a))
        return [a for _, a in sorted(steps)]

    def hint(self, model: cp_model.CpModel, plan: list[int]) -> None:
        """Start the solver from `plan` (actions step by step)."""
        at = {(t, self.group_of[a]): a for t, a in enumerate(plan)}
        hints = [(var, key in at) for key, var in self.y.items()]
        hints += [(var, a in plan) for a, var in self.z.items()]
        hints += [
            (var, at.get((t, self.group_of[a])) == a)
            for (t, a), var in self.x.items()
            if len(self.groups[self.group_of[a]]) > 1
        ]
        if not hints:
            return
        # What `add_hint` does one literal at a time (two calls into the model each, most
        # of a hint's cost), in two: every literal here is a variable, not a negation.
        assert all(var.index >= 0 for var, _ in hints)
        solution = model.proto.solution_hint
        solution.vars.extend(var.index for var, _ in hints)
        solution.values.extend(int(value) for _, value in hints)

    def steps(self) -> dict[tuple[int, int], cp_model.IntVar]:
        """`x[t, a]`: action `a` is step `t` (a timed encoding's, where each is `y`)."""
        assert self.timed, "only a timed encoding has a literal per action and step"
        return self.x
