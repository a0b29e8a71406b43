"""How a connection to the Temporal server is secured: TLS (system roots or a CA of its
own, a client certificate for mTLS, the name to verify) and an API key. Imports nothing of
temporalio: the CLI builds it before it connects (`ido.temporal.client.connect`)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Security:
    """The TLS and API key of a connection; the default is none (plaintext, no key)."""

    tls: bool = False
    """Whether to connect over TLS (any of the fields below but `flags` implies it)."""
    ca: bytes | None = None
    """PEM certificates of the CA(s) the server's certificate must chain to (None: the
    system's roots)."""
    cert: bytes | None = None
    """The client's PEM certificate chain for mTLS (with `key`)."""
    key: bytes | None = field(default=None, repr=False)
    """The client's PEM private key for mTLS (with `cert`)."""
    server_name: str | None = None
    """The name the server's certificate is verified against, and sent as SNI, when it is
    not the host dialed (a proxy, an address by IP)."""
    api_key: str | None = field(default=None, repr=False)
    """The API key, sent as `Authorization: Bearer …`: never printed nor journaled."""
    flags: tuple[str, ...] = ()
    """The command-line flags that make this (file paths and the key's variable name, never
    the key), for the commands ido suggests (`ido temporal pull RUN --temporal …`)."""

    @property
    def secured(self) -> bool:
        """Whether the connection uses TLS: asked for, or implied by a CA, a client
        certificate, a server name or an API key (a key is never sent in plaintext)."""
        given = (self.ca, self.cert, self.server_name, self.api_key)
        return self.tls or any(v is not None for v in given)

    def over(self) -> str:
        """How a secured connection is secured, as a suffix for a worker's first line and
        a connection error (`, over TLS …`; no secret), or '' for plaintext."""
        if not self.secured:
            return ""
        words = [", over TLS"]
        if self.ca is None:
            words.append("(system roots)")
        if self.cert is not None:
            words.append("with a client certificate")
        if self.api_key is not None:
            words.append("and an API key")
        return " ".join(words)


PLAIN = Security()
"""No TLS and no API key: the dev server, a server on a trusted network."""
