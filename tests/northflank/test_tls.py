"""Every Northflank client verifies TLS, with one context shared by the process.

The bot opens a client per Northflank connection; each used to build its own
TLS context, loading the CA bundle again (about 0.9 MiB and 29 ms apiece,
`bench.client_cost`). Sharing one must not loosen verification: a server whose
certificate no trusted authority signed is refused, over a real TLS handshake
on loopback.
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bot.northflank.client import NorthflankClient, shared_tls_context
from bot.northflank.errors import UnavailableError
from bot.northflank.transport import RetryPolicy

ONE_ATTEMPT = RetryPolicy(attempts=1)


def _tls_context_of(client: NorthflankClient) -> ssl.SSLContext:
    # httpx keeps the context on httpcore's pool, under our retrying transport.
    pool = client._http._transport._inner._pool  # type: ignore[attr-defined]
    context: ssl.SSLContext = pool._ssl_context
    return context


async def test_every_client_shares_one_context_that_verifies_certificates() -> None:
    clients = [
        NorthflankClient(api_token="token-a", base_url="https://api.northflank.com"),
        NorthflankClient(api_token="token-b", base_url="https://api.northflank.com", team_id="t"),
    ]
    try:
        contexts = [_tls_context_of(client) for client in clients]
        assert contexts[0] is contexts[1] is shared_tls_context()
        assert contexts[0].verify_mode is ssl.CERT_REQUIRED
        assert contexts[0].check_hostname
    finally:
        for client in clients:
            await client.aclose()


def _self_signed(folder: Path) -> ssl.SSLContext:
    """A server context for 127.0.0.1 with a certificate that signs itself."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


@pytest.fixture
async def untrusted_server(tmp_path: Path) -> AsyncIterator[tuple[str, list[bytes]]]:
    """An HTTPS server on loopback with a self-signed certificate; it records what
    reaches it after the handshake (nothing, if the client refuses the certificate)."""
    received: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            data = await reader.read(65536)
            if data:
                received.append(data)
                writer.write(b'HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\n{"data":[]}')
                await writer.drain()
        except (ssl.SSLError, ConnectionError):
            pass  # the client hung up during the handshake, as it should
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=_self_signed(tmp_path))
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"https://127.0.0.1:{port}", received
    finally:
        server.close()
        await server.wait_closed()


async def test_a_certificate_no_authority_signed_is_refused(
    untrusted_server: tuple[str, list[bytes]],
) -> None:
    url, received = untrusted_server
    async with NorthflankClient(
        api_token="secret-token", base_url=url, retry_policy=ONE_ATTEMPT
    ) as client:
        with pytest.raises(UnavailableError) as refused:
            await client.list_backups_page("dest-1")
    assert "secret-token" not in str(refused.value)
    # The request, and the token in its header, never crossed the connection.
    assert received == []
