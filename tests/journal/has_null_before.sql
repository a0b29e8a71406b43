BEGIN TRANSACTION;
CREATE TABLE catalogs (
    digest TEXT PRIMARY KEY,
    capabilities TEXT NOT NULL
);
INSERT INTO "catalogs" VALUES('a5fa0ff3a8d5465b8b3712f24c9b35b38c34b4b96e7c3490658429d64ddef014','{"pay-cheap-eu": "96a64e1e06a7", "pay-pricey-eu": "fd73d341cc3b", "pay-us": "0f77f68df765", "refund-eu": "fb0060d43dac", "ship": "2063de7e8768"}');
CREATE TABLE events (
    run_id TEXT NOT NULL REFERENCES runs(id),
    seq INTEGER NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    hash TEXT,
    PRIMARY KEY (run_id, seq)
);
INSERT INTO "events" VALUES('r20261207-083548-67ab1ad8110d',1,'2026-12-07T08:35:48.099+00:00','run_started','{"catalog_digest": "a5fa0ff3a8d5465b8b3712f24c9b35b38c34b4b96e7c3490658429d64ddef014", "health": {}, "intent": {"apiVersion": "ido/v1", "kind": "Intent", "metadata": {"description": null, "labels": {}, "name": "ship-order"}, "spec": {"constraints": {"deadline": "30s", "max_cost": 5.0, "min_success_probability": 0.9}, "given": {"order": {"id": "7", "region": "eu"}}, "goal": ["state.order.paid", "state.order.shipped"], "limits": {"alternatives": 3, "backoff": "0ms", "max_attempts": 3, "max_compensation_attempts": 3, "max_replans": 10, "max_steps": 20, "search_states": 200000, "solve_time": "10s"}, "llm": {"api_base": null, "api_key_env": null, "input_cost": null, "max_rounds": 3, "model": null, "output_cost": null, "temperature": 0.0, "timeout": "30s"}, "mode": "auto", "objective": {"approval": 0.01, "cost": 1.0, "latency": 0.5, "risk": 2.0}, "observers": [], "on_failure": "stop", "planner": "cpsat", "policies": ["residency"], "rules": []}}, "planner": "cpsat", "process": {"host": "vm", "pid": 12922, "since": "4100639"}}','046d090f19f17f3077e3f98789d6a2f9fb3bd8bcf0ecb10239518b9a42609e85');
INSERT INTO "events" VALUES('r20261207-083548-67ab1ad8110d',2,'2026-12-07T08:35:48.105+00:00','observed','{"digest": "sha256:50355405fe369595", "state": {"order": {"id": "7", "paid": false, "refunded": false, "region": "eu", "shipped": false}}}','961f4b4dc55f73a831b8663ad6e76515e23400d36b2ac4173eab6d36a7e5ba72');
INSERT INTO "events" VALUES('r20261207-083548-67ab1ad8110d',3,'2026-12-07T08:35:48.112+00:00','decided','{"approvals": [], "beliefs": {}, "elapsed": 0.006159543991088867, "now": 1796632548.1055775, "number": 1, "observed": {"order.paid": false, "order.shipped": false}, "planner": "cpsat", "policies": ["residency"], "policy": [{"id": "pd-f95609699741", "inputs": "sha256:15ac41ab1a5bfd8c", "message": "PII of EU customers is processed in the EU only.", "rule": "residency/pii-stays-in-eu", "subject": "pay-us", "verdict": "deny"}, {"id": "pd-620a1981e913", "inputs": "sha256:a1b32965ed3dd090", "message": "PII of EU customers is processed in the EU only. (rule could not be evaluated: UNKNOWN: No matching overloads found : (null_type).startsWith(string))", "rule": "residency/pii-stays-in-eu", "subject": "ship", "verdict": "deny"}], "policy_digests": {"residency": "sha256:1eba1c5b1cacdda1"}, "policy_errors": ["ship: residency/pii-stays-in-eu: UNKNOWN: No matching overloads found : (null_type).startsWith(string)"], "result": {"alternatives": [], "blocking": ["residency/pii-stays-in-eu"], "condition_errors": [], "conflict": ["residency/pii-stays-in-eu"], "conflict_untested": [], "constraints": [], "plan": null, "proven_optimal": true, "reason": "no plan reaches ''state.order.paid'', ''state.order.shipped'': every way there is ruled out: policy residency/pii-stays-in-eu denies pay-us, ship (failing closed for ship: it could not be evaluated: UNKNOWN: No matching overloads found : (null_type).startsWith(string)); or lift rule residency/pii-stays-in-eu (it denies pay-us, ship) to allow pay-us \u2192 ship", "rejections": [{"capability": "pay-us", "detail": "PII of EU customers is processed in the EU only.", "reason": "denied", "rule": "residency/pii-stays-in-eu"}, {"capability": "ship", "detail": "PII of EU customers is processed in the EU only. (rule could not be evaluated: UNKNOWN: No matching overloads found : (null_type).startsWith(string))", "reason": "denied", "rule": "residency/pii-stays-in-eu"}, {"capability": "refund-eu", "detail": "its effects are not needed for the goal", "reason": "irrelevant", "rule": null}], "solver": {"backend": "ortools-cp-sat", "deterministic_time_limit": 10.0, "num_workers": 1, "random_seed": 0, "search_first": "astar first, up to 20,000 expansions, when no limit other than max_steps is set (by elapsed time, under any limit but a summed one on a pipeline, up to 200 usable capabilities, for 100,000 \u00f7 usable capabilities expansions, at least 100); once a search settled the plan, its alternatives'' searches up to 200,000 expansions first; when the search that went first (not by elapsed time) gives up with budget left, the model gets 0.1 of its time limit, then the search goes on, and the model gets its whole time limit only if the search runs out too", "small_problems": "astar when at most 3 capabilities are usable", "wall_time_limit": 1000.0}, "status": "infeasible"}, "snapshot_digest": "sha256:50355405fe369595", "spent": 0.0, "trigger": "run started", "unbound": []}','3603b7f68351740bf048723098b7aa76fde4f1a4ca78aa401f92dba9fc5fe2d1');
INSERT INTO "events" VALUES('r20261207-083548-67ab1ad8110d',4,'2026-12-07T08:35:48.112+00:00','run_finished','{"cost": 0.0, "outcome": "failed", "reason": "no plan reaches ''state.order.paid'', ''state.order.shipped'': every way there is ruled out: policy residency/pii-stays-in-eu denies pay-us, ship (failing closed for ship: it could not be evaluated: UNKNOWN: No matching overloads found : (null_type).startsWith(string)); or lift rule residency/pii-stays-in-eu (it denies pay-us, ship) to allow pay-us \u2192 ship"}','37515f513a365235b8fbe1d2385960decb6e51b3eceea785734e183d454548a3');
CREATE TABLE health (
    capability TEXT PRIMARY KEY,
    successes REAL NOT NULL,
    failures REAL NOT NULL,
    latency REAL,
    updated REAL NOT NULL
);
CREATE TABLE llm_cache (
    request TEXT PRIMARY KEY,
    reply TEXT NOT NULL
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO "meta" VALUES('schema_version','6');
INSERT INTO "meta" VALUES('chained_since','2026-12-07T08:35:48.074+00:00');
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    intent TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    outcome TEXT,
    reason TEXT,
    cost REAL NOT NULL DEFAULT 0,
    duration REAL,
    recorded_at TEXT
);
INSERT INTO "runs" VALUES('r20261207-083548-67ab1ad8110d','ship-order','2026-12-07T08:35:48.099+00:00','2026-12-07T08:35:48.112+00:00','failed','no plan reaches ''state.order.paid'', ''state.order.shipped'': every way there is ruled out: policy residency/pii-stays-in-eu denies pay-us, ship (failing closed for ship: it could not be evaluated: UNKNOWN: No matching overloads found : (null_type).startsWith(string)); or lift rule residency/pii-stays-in-eu (it denies pay-us, ship) to allow pay-us → ship',0.0,1.33817195892333984375e-02,NULL);
CREATE INDEX runs_started ON runs(started_at);
CREATE INDEX runs_recorded ON runs(COALESCE(recorded_at, started_at));
COMMIT;
