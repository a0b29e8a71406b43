"""A TLS front for the dev server (which serves plaintext only): throwaway certificates
made at test time, and a proxy on loopback that ends TLS (asking for a client certificate
when told) and passes the bytes on, reading the API key from the requests' headers."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ido.temporal.devserver import free_port

SERVER_NAME = "temporal.test"
"""The one name on the server's certificate: dialing 127.0.0.1 needs --tls-server-name."""


@dataclass(frozen=True)
class Certificates:
    """PEM files: a CA, the server's certificate and key, a client's certificate and key
    (both signed by the CA), and a stranger's certificate signed by another CA."""

    ca: Path
    server: Path
    server_key: Path
    client: Path
    client_key: Path
    stranger: Path
    stranger_key: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    usage: ExtendedKeyUsageOID | None = None,
    dns: str | None = None,
) -> x509.Certificate:
    """A certificate for `subject` signed by `issuer` (None: self-signed, a CA)."""
    now = datetime.datetime.now(datetime.UTC)
    signer_name, signer_key = issuer or (_name(subject), key)
    built = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(signer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer is None:
        usage_bits = dict.fromkeys(
            (
                "digital_signature",
                "content_commitment",
                "key_encipherment",
                "data_encipherment",
                "key_agreement",
                "encipher_only",
                "decipher_only",
            ),
            False,
        )
        built = built.add_extension(
            x509.KeyUsage(key_cert_sign=True, crl_sign=True, **usage_bits), critical=True
        )
    if usage is not None:
        built = built.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if dns is not None:
        built = built.add_extension(x509.SubjectAlternativeName([x509.DNSName(dns)]), False)
    if issuer is None or dns is not None:
        built = built.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
    if issuer is not None:
        built = built.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()),
            critical=False,
        )
    return built.sign(signer_key, hashes.SHA256())


def make_certificates(folder: Path) -> Certificates:
    """Throwaway certificates in `folder`, made now (never checked in)."""
    folder.mkdir(parents=True, exist_ok=True)

    def write(name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Path:
        (folder / f"{name}.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        path = folder / f"{name}.pem"
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return path

    ca_key, other_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca = _issue("ido test CA", ca_key, None)
    other = _issue("another CA", other_key, None)
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(3)]
    server = _issue(
        "server", keys[0], (ca.subject, ca_key), ExtendedKeyUsageOID.SERVER_AUTH, SERVER_NAME
    )
    client = _issue("client", keys[1], (ca.subject, ca_key), ExtendedKeyUsageOID.CLIENT_AUTH)
    stranger = _issue(
        "stranger", keys[2], (other.subject, other_key), ExtendedKeyUsageOID.CLIENT_AUTH
    )
    write("ca", ca, ca_key)
    return Certificates(
        ca=folder / "ca.pem",
        server=write("server", server, keys[0]),
        server_key=folder / "server.key",
        client=write("client", client, keys[1]),
        client_key=folder / "client.key",
        stranger=write("stranger", stranger, keys[2]),
        stranger_key=folder / "stranger.key",
    )


@dataclass
class Proxy:
    """The proxy's address, and the `authorization` headers its clients sent."""

    address: str
    authorizations: list[str] = field(default_factory=list)


@contextmanager
def tls_proxy(upstream: str, certificates: Certificates, mutual: bool) -> Iterator[Proxy]:
    """A TLS server on a free loopback port passing each connection on to `upstream`
    (plaintext); `mutual`: it asks for a client certificate signed by the CA."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificates.server, certificates.server_key)
    context.set_alpn_protocols(["h2"])
    if mutual:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(certificates.ca)
    port = free_port()
    proxy = Proxy(f"127.0.0.1:{port}")
    host, upstream_port = upstream.rsplit(":", 1)
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    async def pipe(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, headers: _Headers | None
    ) -> None:
        try:
            while data := await reader.read(65536):
                if headers is not None:
                    headers.feed(data)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            await _closed(writer)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(host, int(upstream_port))
        except BaseException:  # (cancelled too: the proxy stops)
            await _closed(writer)
            raise
        headers = _Headers(proxy.authorizations)
        await asyncio.gather(pipe(reader, up_writer, headers), pipe(up_reader, writer, None))

    async def main() -> None:
        # A refused handshake (no client certificate, the wrong CA) is what some tests
        # want: not worth the loop's traceback on stderr.
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: None)
        server = await asyncio.start_server(serve, "127.0.0.1", port, ssl=context)
        ready.set()
        await stop.wait()
        server.close()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        await server.wait_closed()

    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(10), "the TLS proxy did not start"
    try:
        yield proxy
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


async def _closed(writer: asyncio.StreamWriter) -> None:
    """Close `writer` and wait until its socket is (else it is left to the garbage
    collector, whose ResourceWarning fails whichever test it runs in)."""
    writer.close()
    with contextlib.suppress(Exception, asyncio.CancelledError):
        await asyncio.wait_for(writer.wait_closed(), 5)


class _Headers:
    """Reads HTTP/2 HEADERS frames from a client's bytes (HPACK), keeping `authorization`."""

    def __init__(self, found: list[str]) -> None:
        from hpack import Decoder

        self.decoder = Decoder()
        self.found = found
        self.buffer = b""
        self.preface = False
        self.lost = False  # a frame not understood: reading stops, passing on goes on

    def feed(self, data: bytes) -> None:
        if self.lost:
            return
        try:
            self._read(data)
        except Exception:
            self.lost = True

    def _read(self, data: bytes) -> None:
        self.buffer += data
        if not self.preface:
            if len(self.buffer) < 24:
                return
            self.buffer, self.preface = self.buffer[24:], True  # PRI * HTTP/2.0 ...
        while len(self.buffer) >= 9:
            length = int.from_bytes(self.buffer[:3], "big")
            if len(self.buffer) < 9 + length:
                return
            kind, flags = self.buffer[3], self.buffer[4]
            payload, self.buffer = self.buffer[9 : 9 + length], self.buffer[9 + length :]
            if kind == 0x1:  # HEADERS (one block: gRPC's fit in a frame)
                if flags & 0x8:  # PADDED
                    payload = payload[1 : len(payload) - payload[0]]
                if flags & 0x20:  # PRIORITY
                    payload = payload[5:]
                for name, value in self.decoder.decode(payload):
                    if str(name).lower() == "authorization":
                        self.found.append(str(value))
