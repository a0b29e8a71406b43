"""Secure connections to the Temporal server: TLS, mTLS, the server's name and an API key,
for real through a TLS proxy in front of the dev server (which serves plaintext only);
flags that cannot be used are said naming the flag and the file, and the key never shows."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ido.journal import SqliteJournal
from ido.journal.records import resume_command
from tests.temporal.servers import Worker, environment

pytest.importorskip("cryptography", reason="the test certificates are made with cryptography")
pytest.importorskip("hpack", reason="the proxy reads the API key's header with hpack")

from tests.temporal.tls import SERVER_NAME, Certificates, Proxy, make_certificates, tls_proxy

KEY = "IDO_TEST_TEMPORAL_KEY"
SECRET = f"sk-{uuid.uuid4().hex}"
STEP = """\
apiVersion: ido/v1
kind: Capability
metadata: {name: step-a}
spec:
  provider: a
  requires: ['!state.a.done']
  effects: {a.done: true}
  cost: 0.1
  idempotent: true
  run: {shell: [sh, -c, 'env >> "$SIDE_LOG"']}
"""
INTENT = """\
apiVersion: ido/v1
kind: Intent
metadata: {name: one-step}
spec:
  goal: ["state.a.done"]
"""


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certificates"))


@pytest.fixture(scope="module")
def proxy(temporal_server: str, certificates: Certificates) -> Iterator[Proxy]:
    """The dev server behind TLS that asks for a client certificate signed by the CA."""
    with tls_proxy(temporal_server, certificates, mutual=True) as front:
        yield front


def _flags(certificates: Certificates, client: str = "client") -> tuple[str, ...]:
    cert = getattr(certificates, client)
    key = getattr(certificates, f"{client}_key")
    return ("--tls-ca", str(certificates.ca), "--tls-cert", str(cert), "--tls-key", str(key))


def _ido(*args: str) -> tuple[int, str]:
    """Run ido in this process; its exit code and what it said, on one line."""
    from typer.testing import CliRunner

    from ido.cli import app

    done = CliRunner().invoke(app, list(args))
    assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    said = " ".join(done.output.replace("│", " ").split())
    assert "Traceback" not in said, said
    return done.exit_code, said


def test_files_and_variables_that_cannot_be_used_are_said_naming_the_flag(
    project: Path, certificates: Certificates, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each command taking --temporal reads its TLS files and key before it connects: a
    missing, unreadable or wrong file is said with its flag and path (exit 2), as is a
    key variable that is not set."""
    monkeypatch.delenv(KEY, raising=False)
    encrypted = project / "encrypted.key"
    encrypted.write_text("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n")
    address = ["--temporal", "127.0.0.1:7233"]
    wrong = [
        (["--tls-ca", "nowhere.pem"], "Invalid value for '--tls-ca': nowhere.pem: no such file"),
        (["--tls-ca", "intents"], "'--tls-ca': intents is a folder, not a PEM file"),
        (
            ["--tls-ca", "intents/ship-order.yaml"],
            "intents/ship-order.yaml holds no PEM certificate (no BEGIN CERTIFICATE line)",
        ),
        (["--tls-cert", str(certificates.client)], "--tls-cert needs --tls-key too"),
        (["--tls-key", str(certificates.client_key)], "--tls-key needs --tls-cert too"),
        (
            ["--tls-cert", str(certificates.ca), "--tls-key", str(certificates.ca)],
            "'--tls-key': " + str(certificates.ca) + " holds no PEM private key",
        ),
        (
            ["--tls-cert", str(certificates.client), "--tls-key", str(encrypted)],
            "holds an encrypted key: give it unencrypted",
        ),
        (["--api-key-env", KEY], f"'--api-key-env': the environment variable {KEY} is not set"),
    ]
    commands = [["run", "ship-order"], ["worker"], ["temporal", "pull", "r1"], ["resume", "r1"]]
    for command in commands:
        for flags, message in wrong:
            code, said = _ido(*command, *address, *flags)
            assert code == 2 and message in said, (command, flags, said)
    for command in (["run", "ship-order"], ["resume", "r1"]):
        code, said = _ido(*command, "--tls")
        assert code == 2 and "go with --temporal" in said, (command, said)


def test_a_run_goes_over_mutual_tls_with_an_api_key_that_is_never_said(
    tmp_path: Path,
    proxy: Proxy,
    certificates: Certificates,
    workers: Callable[..., Worker],
) -> None:
    """A worker and `ido run` reach the server over mTLS, verifying its certificate by the
    name it carries, and send the API key of the variable named: the server gets it as a
    bearer token, and it is in no output, no worker's log and not in the journal. The
    worker's bindings do not inherit it."""
    folder = tmp_path / "p"
    (folder / "capabilities").mkdir(parents=True)
    (folder / "intents").mkdir()
    (folder / "capabilities" / "step-a.yaml").write_text(STEP)
    (folder / "intents" / "one-step.yaml").write_text(INTENT)
    side = tmp_path / "side.log"
    env = environment(**{KEY: SECRET, "SIDE_LOG": str(side)})
    flags = (*_flags(certificates), "--tls-server-name", SERVER_NAME, "--api-key-env", KEY)
    queue = f"ido-tls-{uuid.uuid4().hex[:8]}"
    worker = workers(folder, queue, env, proxy.address, flags)
    assert "over TLS with a client certificate and an API key" in worker.log.read_text()
    address = ["--temporal", proxy.address]

    def ido(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ido", *args],
            cwd=folder,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )

    done = ido("run", "one-step", *address, "--task-queue", queue, *flags)
    assert done.returncode == 0, done.stdout + done.stderr
    run_id = done.stdout.split("achieved: run ")[1].split(",")[0]
    pulled = ido("temporal", "pull", run_id, *address, *flags)
    assert pulled.returncode == 0 and f"run {run_id}: achieved" in pulled.stdout, pulled.stderr
    worker.stop()
    bindings = side.read_text()  # the environment the binding had: without the key
    assert "SIDE_LOG=" in bindings and KEY not in bindings and SECRET not in bindings
    assert proxy.authorizations and set(proxy.authorizations) == {f"Bearer {SECRET}"}
    said = done.stdout + done.stderr + pulled.stdout + pulled.stderr + worker.log.read_text()
    assert SECRET not in said
    assert SECRET.encode() not in (folder / ".ido" / "ido.db").read_bytes()
    with SqliteJournal(folder / ".ido" / "ido.db") as journal:  # as `ido approve` says it
        again = resume_command(run_id, journal.events(run_id))
    assert again == f"ido resume {run_id} --temporal {proxy.address} " + " ".join(flags)


def test_a_server_not_trusted_or_refusing_this_client_is_said_without_a_traceback(
    proxy: Proxy, certificates: Certificates
) -> None:
    """Plaintext to a TLS server, a certificate without the name dialed, an unknown CA, no
    client certificate or a stranger's: each is said naming the server (exit 1). With the
    right ones the server answers (here: it has no such run)."""
    address = ["--temporal", proxy.address]
    named = ("--tls-server-name", SERVER_NAME)
    wrong = [
        ((), "the server closed the connection (does it take TLS only? give --tls)"),
        (_flags(certificates), "not for the host dialed (it names temporal.test)"),
        (("--tls", *named), "signed by a CA this client does not trust"),  # system roots
        (("--tls-ca", str(certificates.ca), *named), "does it want a client certificate"),
        ((*_flags(certificates, "stranger"), *named), "does it want a client certificate"),
    ]
    for flags, why in wrong:
        code, said = _ido("temporal", "pull", "r-none", *address, *flags)
        assert code == 1, (flags, said)
        assert f"cannot reach the Temporal server at {proxy.address}" in said, (flags, said)
        assert why in said, (flags, said)
    code, said = _ido("temporal", "pull", "r-none", *address, *_flags(certificates), *named)
    assert code == 1 and "run r-none's workflow is not open there" in said, said
