"""Variables named as credentials are masked though no binding declares them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TOKEN = "acme_live_5e4d3c2b1a"


def _project(folder: Path) -> None:
    """`sync`, a Python binding that reads ACME_API_TOKEN from os.environ, never declaring
    it, and returns it; `check` then fails with an error quoting it."""
    (folder / "acme_ops.py").write_text(
        "import os\n\n"
        "def sync(ctx):\n    return {'debug': 'token=' + os.environ['ACME_API_TOKEN']}\n\n"
        "def check(ctx):\n    raise RuntimeError('401 for ' + os.environ['ACME_API_TOKEN'])\n"
    )
    for name, requires, effect in (("sync", "!state.synced", "synced"),
                                   ("check", "state.synced", "checked")):  # fmt: skip
        (folder / f"{name}.yaml").write_text(
            f"apiVersion: ido/v1\nkind: Capability\nmetadata: {{name: {name}}}\nspec:\n"
            f"  provider: acme\n  requires: ['{requires}']\n  effects: {{{effect}: true}}\n"
            f"  output: {name}_said\n  run: {{python: 'acme_ops:{name}'}}\n"
        )
    (folder / "acme.yaml").write_text(
        "apiVersion: ido/v1\nkind: Intent\nmetadata: {name: acme}\n"
        "spec: {goal: ['state.checked'], limits: {max_attempts: 1}}\n"
    )


def _ido(folder: Path, *args: str, **environ: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("IDO_JOURNAL", "IDO_UNMASKED_ENV")}
    return subprocess.run(
        [sys.executable, "-m", "ido", *args],
        cwd=folder,
        env={**env, **environ},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("environ", "kept"),
    [
        ({"ACME_API_TOKEN": TOKEN}, False),
        ({"ACME_API_TOKEN": TOKEN, "IDO_UNMASKED_ENV": "OTHER, ACME_API_TOKEN"}, True),
    ],
)
def test_an_undeclared_credential_a_binding_reads_is_masked_unless_opted_out(
    tmp_path: Path, environ: dict[str, str], kept: bool
) -> None:
    """A Python binding that read GITHUB_TOKEN-like variables it never declared had them
    journaled, explained and reported as they were: a variable named as a credential is
    now masked, unless `IDO_UNMASKED_ENV` names it."""
    _project(tmp_path)
    ran = _ido(tmp_path, "run", "acme", "--catalog", ".", **environ)
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert (TOKEN in ran.stdout + ran.stderr) is kept
    journal = b"".join(p.read_bytes() for p in (tmp_path / ".ido").glob("ido.db*"))
    assert (TOKEN.encode() in journal) is kept
    assert (b"token=***" in journal) is not kept
    shown = _ido(tmp_path, "explain", "last", **environ).stdout
    assert ("401 for ***" in shown) is not kept and (TOKEN in shown) is kept, shown


def test_credentials_are_guessed_by_name_and_length_only() -> None:
    """Named as a credential, 8 characters or more, and not opted out."""
    from ido.secrets import credential_names

    environ = {
        "GITHUB_TOKEN": "ghp_0123456789",
        "STRIPE_API_KEY": "sk_test_0123456789",
        "GITLAB_PAT": "glpat-0123456789",
        "AWS_SECRET_ACCESS_KEY": "abcdefgh12345678",
        "DB_PASSWORD": "hunter2hunter2",
        "TOKEN": "plain-token-1",
        "USE_KEY": "1",  # a flag
        "SORT_KEY": "created_at",  # no secret: opted out
        "KEYBOARD": "us-international",  # KEY, but not as a word of its own
        "PATH": "/usr/bin:/bin",
        "TOKENS_URL": "https://auth.example/tokens",
        "IDO_UNMASKED_ENV": "SORT_KEY",
    }
    assert credential_names(environ) == {
        "GITHUB_TOKEN",
        "STRIPE_API_KEY",
        "GITLAB_PAT",
        "AWS_SECRET_ACCESS_KEY",
        "DB_PASSWORD",
        "TOKEN",
    }


@pytest.mark.parametrize(
    ("name", "declared"),
    [
        ("ACME_API_TOKEN_FILE", ""),
        ("DB_PASSWORD_FILE", ""),
        ("ACME_CREDS_FILE", ", secrets: [ACME_CREDS_FILE]"),
    ],
)
def test_a_secret_a_binding_reads_from_the_file_a_variable_names_is_masked(
    tmp_path: Path, name: str, declared: str
) -> None:
    """Docker's and Kubernetes' secrets are files, named to programs by a variable
    (`POSTGRES_PASSWORD_FILE=/run/secrets/db`): a binding that read its token there and
    quoted it was journaled and explained as it was (only the file's path was masked). A
    variable ending in `_FILE` that names a file, named as a credential or listed in a
    binding's `secrets`: the file's text is the secret."""
    held = tmp_path / "run-secrets" / "acme"
    held.parent.mkdir()
    held.write_text(TOKEN + "\n")
    (tmp_path / "acme_ops.py").write_text(
        "import os\n\n"
        f"def sync(ctx):\n    token = open(os.environ['{name}']).read().strip()\n"
        "    return {'debug': 'token=' + token, 'from': os.environ['" + name + "']}\n\n"
        f"def check(ctx):\n    raise RuntimeError('401 for ' + open(os.environ['{name}']).read())\n"
    )
    for step, requires, effect in (("sync", "!state.synced", "synced"),
                                   ("check", "state.synced", "checked")):  # fmt: skip
        (tmp_path / f"{step}.yaml").write_text(
            f"apiVersion: ido/v1\nkind: Capability\nmetadata: {{name: {step}}}\nspec:\n"
            f"  provider: acme\n  requires: ['{requires}']\n  effects: {{{effect}: true}}\n"
            f"  output: {step}_said\n  run: {{python: 'acme_ops:{step}'{declared}}}\n"
        )
    (tmp_path / "acme.yaml").write_text(
        "apiVersion: ido/v1\nkind: Intent\nmetadata: {name: acme}\n"
        "spec: {goal: ['state.checked'], limits: {max_attempts: 1}}\n"
    )
    ran = _ido(tmp_path, "run", "acme", "--catalog", ".", **{name: str(held)})
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert TOKEN not in ran.stdout + ran.stderr and "401 for ***" in ran.stdout, ran.stdout
    journal = b"".join(p.read_bytes() for p in (tmp_path / ".ido").glob("ido.db*"))
    assert TOKEN.encode() not in journal and b"token=***" in journal
    shown = _ido(tmp_path, "explain", "last", "--format", "json", **{name: str(held)}).stdout
    assert TOKEN not in shown and '"debug": "token=***"' in shown, shown
    assert f'"from": "{held}"' in shown, shown  # a path is no secret: kept as it is


def test_a_file_named_as_a_credential_is_guessed_a_secret_by_its_text_s_length(
    tmp_path: Path,
) -> None:
    """A variable named as a credential is taken for a secret from 8 characters on, lest
    a flag (`USE_KEY=1`) mask every `1`: the file a `_FILE` variable names is guessed so by
    what it holds, not by its path. One holding `true` masked every `true` in every error
    and everything a process printed (`{"ok": ***}`)."""
    from ido.secrets import Secrets, credential_names

    (tmp_path / "flag").write_text("true\n")
    (tmp_path / "pw").write_text(TOKEN + "\n")
    environ = {"SIGNING_KEY_FILE": str(tmp_path / "flag"), "DB_PASSWORD_FILE": str(tmp_path / "pw")}
    named = credential_names(environ)
    assert named == {"DB_PASSWORD_FILE"}
    said = Secrets(environ=environ, named=named).mask(f'{{"ok": true, "token": "{TOKEN}"}}')
    assert said == '{"ok": true, "token": "***"}'
