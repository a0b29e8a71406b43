"""The flags that secure a connection to the Temporal server (`--tls`, `--tls-ca`,
`--tls-cert`, `--tls-key`, `--tls-server-name`, `--api-key-env`), read into a `Security`.

The API key is read from the environment variable `--api-key-env` names, never from a
flag: flags land in shell histories and process lists. A file that cannot be used is said
naming its flag and path (exit 2), before anything connects."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Annotated

import typer

from ido.temporal.security import Security

TlsOpt = Annotated[
    bool,
    typer.Option(
        "--tls",
        help="With --temporal: connect over TLS, verifying the server against the system's "
        "roots (implied by any other --tls-* flag and by --api-key-env).",
    ),
]
TlsCaOpt = Annotated[
    Path | None,
    typer.Option(
        "--tls-ca",
        metavar="FILE",
        help="With --temporal: PEM certificate(s) of the CA the server's certificate must "
        "chain to, instead of the system's roots.",
    ),
]
TlsCertOpt = Annotated[
    Path | None,
    typer.Option(
        "--tls-cert",
        metavar="FILE",
        help="With --temporal: this client's PEM certificate, for mTLS (with --tls-key).",
    ),
]
TlsKeyOpt = Annotated[
    Path | None,
    typer.Option(
        "--tls-key",
        metavar="FILE",
        help="With --temporal: the PEM private key of --tls-cert (unencrypted).",
    ),
]
TlsServerNameOpt = Annotated[
    str | None,
    typer.Option(
        "--tls-server-name",
        metavar="NAME",
        help="With --temporal: the name the server's certificate must carry (and the SNI "
        "sent), when it is not the host dialed.",
    ),
]
ApiKeyEnvOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key-env",
        metavar="NAME",
        help="With --temporal: the environment variable holding the API key (sent as a "
        "bearer token; never printed nor journaled).",
    ),
]

CERTIFICATE = b"-----BEGIN CERTIFICATE-----"
PRIVATE_KEY = b"PRIVATE KEY-----"


def security_of(
    tls: bool = False,
    ca: Path | None = None,
    cert: Path | None = None,
    key: Path | None = None,
    server_name: str | None = None,
    api_key_env: str | None = None,
) -> Security:
    """The connection's security as the flags ask; a `typer.BadParameter` naming the flag
    and the file (or variable) that cannot be used."""
    if (cert is None) != (key is None):
        given, missing = ("--tls-cert", "--tls-key") if key is None else ("--tls-key", "--tls-cert")
        raise typer.BadParameter(
            f"{given} needs {missing} too (mTLS takes the client's certificate and its key)",
            param_hint=f"'{given}'",
        )
    if server_name is not None and not server_name.strip():
        raise typer.BadParameter("the server name is empty", param_hint="'--tls-server-name'")
    flags: list[str] = ["--tls"] if tls else []
    for flag, path in (("--tls-ca", ca), ("--tls-cert", cert), ("--tls-key", key)):
        if path is not None:
            flags += [flag, str(path)]
    if server_name is not None:
        flags += ["--tls-server-name", server_name]
    if api_key_env is not None:
        flags += ["--api-key-env", api_key_env]
    return Security(
        tls=tls,
        ca=_pem(ca, "--tls-ca", CERTIFICATE, "certificate"),
        cert=_pem(cert, "--tls-cert", CERTIFICATE, "certificate"),
        key=_pem(key, "--tls-key", PRIVATE_KEY, "private key"),
        server_name=server_name,
        api_key=_api_key(api_key_env),
        flags=tuple(flags),
    )


def security_for(
    temporal: str | None,
    tls: bool,
    ca: Path | None,
    cert: Path | None,
    key: Path | None,
    server_name: str | None,
    api_key_env: str | None,
) -> Security:
    """`security_of` for a command whose --temporal is optional (`ido run`, `ido resume`):
    the flags given without it are a `typer.BadParameter`."""
    secured = (tls, ca, cert, key, server_name, api_key_env)
    if temporal is None and any(secured):
        raise typer.BadParameter("the --tls and --api-key-env flags go with --temporal")
    return security_of(*secured)


def _pem(path: Path | None, flag: str, marker: bytes, what: str) -> bytes | None:
    """The PEM file `path` as bytes, once it is seen to hold a `what`."""
    if path is None:
        return None
    hint = f"'{flag}'"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise typer.BadParameter(f"{path}: no such file", param_hint=hint) from None
    except IsADirectoryError:
        raise typer.BadParameter(f"{path} is a folder, not a PEM file", param_hint=hint) from None
    except OSError as exc:
        raise typer.BadParameter(
            f"{path} cannot be read: {exc.strerror}", param_hint=hint
        ) from None
    if b"ENCRYPTED PRIVATE KEY" in data or b"Proc-Type: 4,ENCRYPTED" in data:
        raise typer.BadParameter(
            f"{path} holds an encrypted key: give it unencrypted (no passphrase is asked)",
            param_hint=hint,
        )
    if marker not in data:
        raise typer.BadParameter(
            f"{path} holds no PEM {what} (no {marker.decode().strip('-')} line)", param_hint=hint
        )
    return data


def _api_key(name: str | None) -> str | None:
    """The API key in the environment variable `name` (not the variable's name: its value)."""
    if name is None:
        return None
    value = os.environ.get(name, "").strip()
    if not value:
        raise typer.BadParameter(
            f"the environment variable {name} is not set, or is empty (it must hold the API key)",
            param_hint="'--api-key-env'",
        )
    return value


def hint(security: Security) -> str:
    """The flags of `security` as a suffix for a command ido suggests ('' for none)."""
    return "".join(f" {shlex.quote(flag)}" for flag in security.flags)
