"""Observers feed state: Python callables, JSON files and HTTP GET on loopback."""

from __future__ import annotations

import json
import os
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from ido.cli.progress import _progress_lines
from ido.errors import ExecutionError, ObserverError
from ido.explain import render, run_view
from ido.journal import SqliteJournal
from ido.loading import load_catalog
from ido.model import Observer
from ido.observe import boolean_facts, observe, snapshot
from ido.runtime.bindings import ERROR_CHARS, MAX_OUTPUT
from ido.runtime.local import LocalRuntime
from ido.state import MAX_DEPTH, deeper_than, digest
from ido.testing import StepClock, serve_on_loopback


def observer_yaml(name: str, body: str) -> str:
    return f"apiVersion: ido/v1\nkind: Observer\nmetadata: {{name: {name}}}\nspec:\n{body}"


def test_file_observer_mounts_json_at_a_path(project: Path) -> None:
    """A file observer reads JSON relative to its YAML file and mounts it at `at`."""
    (project / "observers").mkdir()
    (project / "observers" / "stock.json").write_text(json.dumps({"units": 4}))
    (project / "observers" / "stock.yaml").write_text(
        observer_yaml("stock", "  file: stock.json\n  at: inventory\n")
    )
    catalog = load_catalog(["observers"])
    ob = catalog.observers["stock"]
    assert observe(ob, project / "observers", project) == {"inventory": {"units": 4}}


def test_numbers_json_has_not_are_null_and_the_journal_stays_readable(project: Path) -> None:
    """`NaN` and `Infinity` (Python's JSON reads them) became journal rows SQLite's JSON
    functions refuse: `ido runs` was a traceback for the whole journal."""
    from typer.testing import CliRunner

    from ido.cli import app

    (project / "observers").mkdir()
    (project / "observers" / "stock.json").write_text('{"level": NaN, "most": Infinity, "n": 2}')
    (project / "observers" / "stock.yaml").write_text(
        observer_yaml("stock", "  file: stock.json\n  at: stock\n")
    )
    catalog = load_catalog(["observers"])
    seen = observe(catalog.observers["stock"], project / "observers", project)
    assert seen == {"stock": {"level": None, "most": None, "n": 2}}
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text().replace("spec:\n", "spec:\n  observers: [stock]\n", 1))
    runner = CliRunner()
    done = runner.invoke(app, ["run", "ship-order", "--catalog", "observers", "--quiet"])
    assert done.exit_code == 0, done.output
    listed = runner.invoke(app, ["runs", "--format", "json"])
    assert listed.exit_code == 0 and json.loads(listed.output)[0]["outcome"] == "achieved"


def test_python_observer_and_failures(project: Path) -> None:
    """A Python observer's mapping is merged; a non-mapping or an exception is an ExecutionError."""
    (project / "fakesvc" / "obs.py").write_text(
        "def ok():\n    return {'health': {'cheappay': {'up': True}}}\ndef bad():\n    return 3\n"
    )
    (project / "observers").mkdir()
    (project / "observers" / "o.yaml").write_text(
        observer_yaml("good", "  python: fakesvc.obs:ok\n")
        + "---\n"
        + observer_yaml("bad", "  python: fakesvc.obs:bad\n")
    )
    catalog = load_catalog(["observers"])
    assert observe(catalog.observers["good"], project, project) == {
        "health": {"cheappay": {"up": True}}
    }
    with pytest.raises(ExecutionError, match="observer bad returned int, not a mapping"):
        observe(catalog.observers["bad"], project, project)
    (project / "fakesvc" / "obs2.py").write_text("def keys():\n    return {(1, 2): 'pair'}\n")
    (project / "observers" / "keys.yaml").write_text(
        observer_yaml("keys", "  python: fakesvc.obs2:keys\n")
    )
    keyed = load_catalog(["observers"]).observers["keys"]
    with pytest.raises(ExecutionError, match="observer keys returned what JSON cannot carry"):
        observe(keyed, project, project)  # it was a raw TypeError


def test_http_observer_reads_json_from_loopback(project: Path) -> None:
    """An HTTP observer GETs JSON from a real server on loopback."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            payload = json.dumps({"queue": {"depth": 12}}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    with serve_on_loopback(Handler) as base:
        (project / "observers").mkdir()
        url = f"{base}/state"
        (project / "observers" / "q.yaml").write_text(
            observer_yaml("q", f"  http: {{url: '{url}'}}\n")
        )
        catalog = load_catalog(["observers"])
        assert observe(catalog.observers["q"], project, project) == {"queue": {"depth": 12}}


def test_snapshot_layers_given_observations_effects_and_closed_world(project: Path) -> None:
    """State is given, then effects, then observer outputs (what an observer reports wins);
    unset boolean facts start false."""
    catalog = load_catalog(["capabilities", "policies", "intents"])
    intent = catalog.intents["ship-order"]
    state = snapshot(
        intent,
        [{"order": {"region": "us", "note": "x", "shipped": False}}],
        {"order": {"paid": True, "shipped": True}},
        boolean_facts(catalog),
    )
    assert state["order"] == {
        "id": "7",
        "region": "us",
        "note": "x",
        "paid": True,
        "shipped": False,
        "refunded": False,
    }
    assert digest(state) == digest(json.loads(json.dumps(state)))
    assert digest(state) != digest({**state, "extra": 1})


def test_ido_plan_plans_without_an_observer_that_fails(project: Path) -> None:
    """`ido plan` stopped with the observer's error, where a run records it and goes on."""
    from typer.testing import CliRunner

    from ido.cli import app

    (project / "observers").mkdir()
    (project / "observers" / "stock.yaml").write_text(
        observer_yaml("stock", "  file: nowhere.json\n")
    )
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text().replace("spec:\n", "spec:\n  observers: [stock]\n", 1))
    done = CliRunner().invoke(app, ["plan", "ship-order", "--catalog", "observers"])
    assert done.exit_code == 0, done.output
    assert "observer stock failed" in done.output and "planning without it" in done.output
    assert "pay-cheap-eu (cheappay)" in done.output


class _Deep(BaseHTTPRequestHandler):
    """`/N` replies with a JSON object nested N levels deep."""

    def do_GET(self) -> None:
        levels = int(self.path.strip("/"))
        payload = "{}" if levels == 1 else '{"a":' * (levels - 1) + "{}" + "}" * (levels - 1)
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload.encode())

    def log_message(self, *args: object) -> None:
        pass


def _run_observing(project: Path, url: str, at: str) -> tuple[str, list[Any]]:
    """`ship-order` run with one HTTP observer of `url` mounted `at`: its outcome, events."""
    (project / "observers").mkdir(exist_ok=True)
    (project / "observers" / "deep.yaml").write_text(
        observer_yaml("deep", f"  http: {{url: '{url}'}}\n  at: {at}\n")
    )
    intent = project / "intents" / "ship-order.yaml"
    intent.write_text(intent.read_text().replace("spec:\n", "spec:\n  observers: [deep]\n", 1))
    catalog = load_catalog(["capabilities", "policies", "intents", "observers"])
    with SqliteJournal(project / "ido.db") as journal:
        runtime = LocalRuntime(
            catalog, journal, base=project, clock=StepClock(), new_id=lambda _: "r1"
        )
        report = runtime.run(catalog.intents["ship-order"])
        return report.outcome, journal.events("r1")


def test_an_observation_nested_too_deep_fails_the_observer_not_the_run(project: Path) -> None:
    """600 levels of JSON were read, then crashed the run (RecursionError) in the snapshot,
    and `ido resume` crashed the same way."""
    with serve_on_loopback(_Deep) as base:
        outcome, events = _run_observing(project, f"{base}/600", "ext")
    assert outcome == "achieved"
    failed = [e.data for e in events if e.kind == "observer_failed"]
    assert failed and failed[0]["observer"] == "deep"
    assert failed[0]["reason"] == (
        f"returned a document nested deeper than {MAX_DEPTH} levels (the most ido reads)"
    )


def test_an_observer_failing_the_same_way_again_is_told_once(project: Path) -> None:
    """An observer down for the whole run was told before every step and decision, the
    same line each time, in the run's output and in explain. Each failure is still
    journaled; those that repeat the last are marked `again` and told once."""
    with serve_on_loopback(_Deep) as base:
        _, events = _run_observing(project, f"{base}/600", "ext")
    failed = [e.data for e in events if e.kind == "observer_failed"]
    assert len(failed) >= 2
    assert "again" not in failed[0] and all(f["again"] for f in failed[1:])
    with SqliteJournal(project / "ido.db") as journal:
        text = render(run_view(journal.run("r1"), events), "text")
    assert text.count("observer deep failed") == 1, text
    told = [_progress_lines(e.kind, e.data) for e in events if e.kind == "observer_failed"]
    assert sum(map(len, told)) == 1, told


def test_an_observation_as_deep_as_allowed_goes_through_a_whole_run(project: Path) -> None:
    """`MAX_DEPTH` levels, mounted under a path, are state every step of a run can use."""
    with serve_on_loopback(_Deep) as base:
        outcome, events = _run_observing(project, f"{base}/{MAX_DEPTH}", "ext.deeper.still")
    assert outcome == "achieved"
    assert not [e for e in events if e.kind == "observer_failed"]
    observed = [e.data["state"] for e in events if e.kind == "observed"]
    deepest = MAX_DEPTH + 3  # with the three levels of `at`
    assert observed and all(deeper_than(s, deepest - 1) for s in observed)
    assert not any(deeper_than(s, deepest) for s in observed)


def test_a_python_observer_value_nested_too_deep_is_an_observer_failure(project: Path) -> None:
    """A Python observer's 5,000-level value was a RecursionError out of `json_safe`."""
    (project / "fakesvc" / "deep.py").write_text(
        "def deep():\n    d = {}\n    for _ in range(5000):\n        d = {'a': d}\n    return d\n"
    )
    (project / "observers").mkdir()
    (project / "observers" / "deep.yaml").write_text(
        observer_yaml("deep", "  python: fakesvc.deep:deep\n")
    )
    deep = load_catalog(["observers"]).observers["deep"]
    with pytest.raises(
        ExecutionError, match=f"observer deep returned a document nested deeper than {MAX_DEPTH}"
    ):
        observe(deep, project, project)


class _Html(BaseHTTPRequestHandler):
    """Replies with a page, as a proxy's error page does, where JSON was expected."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"<html>Bad gateway</html>")

    def log_message(self, *args: object) -> None:
        pass


class _Sized(BaseHTTPRequestHandler):
    """`/N` replies with a JSON object of N bytes; `/endless` streams one that never ends."""

    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        try:
            if self.path == "/endless":
                self.wfile.write(b'{"x": "')
                while True:
                    self.wfile.write(b"a" * 65536)
            size = int(self.path.strip("/"))
            self.wfile.write(b'{"x": "' + b"a" * (size - 9) + b'"}')
        except OSError:  # the client hung up
            pass

    def log_message(self, *args: object) -> None:
        pass


def test_an_http_observation_over_the_size_limit_fails_naming_it(project: Path) -> None:
    """An observer read all of a reply, however long: 50 MB took 300 MB of memory and 150 MB
    of journal. Now it reads up to `MAX_OUTPUT` bytes, as bindings do."""
    (project / "observers").mkdir()
    with serve_on_loopback(_Sized) as base:
        for name, path in [("fits", MAX_OUTPUT), ("over", MAX_OUTPUT + 1), ("endless", "endless")]:
            (project / "observers" / f"{name}.yaml").write_text(
                observer_yaml(name, f"  http: {{url: '{base}/{path}'}}\n")
            )
        catalog = load_catalog(["observers"])
        assert len(observe(catalog.observers["fits"], project, project)["x"]) == MAX_OUTPUT - 9
        for name in ("over", "endless"):
            with pytest.raises(ExecutionError) as info:
                observe(catalog.observers[name], project, project)
            assert str(info.value) == (
                f"observer {name}: its reply was over {MAX_OUTPUT:,} bytes, the most ido reads"
            )


def test_a_file_observation_over_the_size_limit_fails_naming_it(project: Path) -> None:
    """A file observer read the whole file, however big (and `/dev/zero` without end); it
    now reads up to `MAX_OUTPUT` bytes, as HTTP observers and bindings do."""
    (project / "observers").mkdir()
    (project / "observers" / "fits.json").write_text('{"x": "' + "a" * (MAX_OUTPUT - 9) + '"}')
    (project / "observers" / "over.json").write_text('{"x": "' + "a" * (MAX_OUTPUT - 8) + '"}')
    for name, file in [("fits", "fits.json"), ("over", "over.json"), ("endless", "/dev/zero")]:
        (project / "observers" / f"{name}.yaml").write_text(
            observer_yaml(name, f"  file: {file}\n")
        )
    catalog = load_catalog(["observers"])
    where = project / "observers"
    assert len(observe(catalog.observers["fits"], where, project)["x"]) == MAX_OUTPUT - 9
    with pytest.raises(ExecutionError) as info:
        observe(catalog.observers["over"], where, project)
    assert str(info.value) == (
        f"observer over: over.json is over {MAX_OUTPUT:,} bytes, the most ido reads"
    )
    with pytest.raises(
        ExecutionError, match=r"^observer endless: /dev/zero is not a regular file$"
    ):
        observe(catalog.observers["endless"], where, project)


def test_an_observation_that_is_not_json_names_its_file_or_url(project: Path) -> None:
    """A file half written said `observer host: JSONDecodeError: Expecting value: line 1
    column 13 (char 12)`: which file, or which URL, it did not say."""
    (project / "observers").mkdir()
    (project / "observers" / "host.json").write_text('{"disk_ok": tru')
    (project / "observers" / "host.yaml").write_text(observer_yaml("host", "  file: host.json\n"))
    catalog = load_catalog(["observers"])
    with pytest.raises(ExecutionError) as info:
        observe(catalog.observers["host"], project / "observers", project)
    assert str(info.value) == (
        "observer host: host.json: not a JSON document (Expecting value at line 1, column 13)"
    )
    with serve_on_loopback(_Html) as base:
        (project / "observers" / "web.yaml").write_text(
            observer_yaml("web", f"  http: {{url: '{base}/text'}}\n")
        )
        catalog = load_catalog(["observers"])
        with pytest.raises(ExecutionError) as info:
            observe(catalog.observers["web"], project, project)
    assert str(info.value).startswith(f"observer web: {base}/text: not a JSON document (")


def test_a_file_observer_on_a_fifo_or_a_folder_fails_at_once(project: Path) -> None:
    """Opening a FIFO with no writer waited for good (`ido plan` hung); a FIFO, like a
    folder, is refused as not a regular file, and the decision plans without it."""
    (project / "observers").mkdir()
    os.mkfifo(project / "observers" / "fifo")
    (project / "observers" / "folder").mkdir()
    for name in ("fifo", "folder"):
        (project / "observers" / f"{name}.yaml").write_text(
            observer_yaml(name, f"  file: {name}\n")
        )
    catalog = load_catalog(["observers"])
    for name in ("fifo", "folder"):
        with pytest.raises(
            ExecutionError, match=rf"^observer {name}: {name} is not a regular file$"
        ):
            observe(catalog.observers[name], project / "observers", project)


def test_an_observer_lacking_its_secret_is_named_in_its_error(project: Path) -> None:
    """`! environment variable TOKEN is not set` in a run's output named no observer."""
    (project / "observers").mkdir()
    (project / "observers" / "stock.yaml").write_text(
        observer_yaml("stock", "  http: {url: 'http://127.0.0.1:9/${env:TOKEN}'}\n")
    )
    ob = load_catalog(["observers"]).observers["stock"]
    with pytest.raises(ExecutionError, match=r"^observer stock: environment variable TOKEN is"):
        observe(ob, project / "observers", project, {})


@pytest.mark.parametrize(
    "error",
    [
        "observer stock: HTTP 500 Internal Server Error from http://h/stock",
        "HTTP 500 Internal Server Error from http://h/stock",  # recorded without its name
    ],
)
def test_an_observer_failure_names_the_observer_once(error: str) -> None:
    """It read `observer stock failed: observer stock: HTTP 500 …`, in `ido explain`, in a
    run's live output and in `ido plan`'s."""
    from ido.explain import event_line

    event = {"kind": "observer_failed", "observer": "stock", "error": error}
    assert event_line({**event, "kept_last_report": True}) == (
        "observer stock failed: HTTP 500 Internal Server Error from http://h/stock;"
        " its last report stands"
    )


def test_an_observer_failure_is_recorded_with_its_reason_apart(project: Path) -> None:
    """The run recorded `observer stock: HTTP 500 …` as the error, and explain cut the name
    back out of the text; the event keeps the reason apart now (`reason`), which explain
    says as it is, even when it starts as a name would."""
    from ido.errors import ObserverError
    from ido.explain import event_line

    (project / "observers").mkdir()
    (project / "observers" / "stock.yaml").write_text(
        observer_yaml("stock", "  http: {url: 'http://127.0.0.1:9/${env:TOKEN}'}\n")
    )
    ob = load_catalog(["observers"]).observers["stock"]
    with pytest.raises(ObserverError) as info:
        observe(ob, project / "observers", project, {})
    assert (info.value.observer, info.value.reason) == (
        "stock",
        "environment variable TOKEN is not set (named as ${env:TOKEN})",
    )
    event = {"kind": "observer_failed", "observer": "stock", "reason": "observer stock: down"}
    assert event_line(event) == "observer stock failed: observer stock: down"


def test_an_observer_exception_whose_message_cannot_be_read_is_a_failed_observation(
    tmp_path: Path,
) -> None:
    """A Python observer raising an exception whose `__str__` raises made `observe` raise
    that second error, out of the run; it is an observer failure now, like any other."""
    (tmp_path / "garbledobs.py").write_text(
        "class Garbled(Exception):\n"
        "    def __str__(self):\n"
        "        raise ValueError('no')\n\n"
        "def read():\n"
        "    raise Garbled()\n"
    )
    observer = Observer.model_validate(
        {
            "apiVersion": "ido/v1",
            "kind": "Observer",
            "metadata": {"name": "garbled"},
            "spec": {"python": "garbledobs:read"},
        }
    )
    with pytest.raises(ObserverError, match=r"could not be read: str\(\) raised ValueError"):
        observe(observer, tmp_path, tmp_path)


def test_a_huge_observer_exception_message_is_cut(tmp_path: Path) -> None:
    """A Python observer's exception carrying 3 MB was its failure's reason, whole."""
    (tmp_path / "loudobs.py").write_text("def read():\n    raise ValueError('x' * 3_000_000)\n")
    observer = Observer.model_validate(
        {
            "apiVersion": "ido/v1",
            "kind": "Observer",
            "metadata": {"name": "loud"},
            "spec": {"python": "loudobs:read"},
        }
    )
    with pytest.raises(ObserverError) as raised:
        observe(observer, tmp_path, tmp_path)
    assert len(raised.value.reason) == ERROR_CHARS and raised.value.reason.endswith("…")


def test_an_async_observer_is_told_to_be_a_plain_function(tmp_path: Path) -> None:
    """An `async def` observer failed as "returned coroutine, not a mapping", with
    Python's warning that the coroutine was never awaited."""
    (tmp_path / "aioobs.py").write_text("async def read():\n    return {}\n")
    observer = Observer.model_validate(
        {
            "apiVersion": "ido/v1",
            "kind": "Observer",
            "metadata": {"name": "aio"},
            "spec": {"python": "aioobs:read"},
        }
    )
    with pytest.raises(ObserverError, match="is an async function"):
        observe(observer, tmp_path, tmp_path)
