"""`backbone identity`: the member's side of certificates for headless clients (a key pair, a
certificate signing request, a signature over the document Backbone issued), and the operator's
side of the certificate authority (its certificate, status and revocation).

Keys are made and kept here, on the member's machine; only the CSR and signatures travel. A
passphrase, when wanted, comes from an environment variable, never from the command line, where
other users and shell histories would see it.
"""

from __future__ import annotations

import base64
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from backbone.cli.context import console, container
from backbone.identity.client import (
    KeyAlgorithm,
    generate_key,
    key_from_pem,
    key_to_pem,
    sign_document,
    signing_request,
)
from backbone.identity.domain import RevocationReason

app = typer.Typer(help="Certificates: keys, CSRs and signatures for headless members; the CA for operators.")

PassphraseEnv = Annotated[
    str | None,
    typer.Option("--passphrase-env", help="Name of an environment variable holding the key's passphrase"),
]


def _passphrase(variable: str | None) -> bytes | None:
    if variable is None:
        return None
    value = os.environ.get(variable)
    if not value:
        raise typer.BadParameter(f"the environment variable {variable} is empty or unset")
    return value.encode()


def _write_private(path: Path, data: bytes) -> None:
    """Create the file readable by its owner only, before any key byte is written to it."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


@app.command()
def keygen(
    out: Annotated[Path, typer.Option(help="Where to write the private key (PEM); must not exist")],
    algorithm: Annotated[KeyAlgorithm, typer.Option(help="ec-p256 or rsa-2048")] = KeyAlgorithm.EC_P256,
    passphrase_env: PassphraseEnv = None,
) -> None:
    """Make a key pair; the private key goes to a new owner-only file."""
    key = generate_key(algorithm)
    _write_private(out, key_to_pem(key, _passphrase(passphrase_env)))
    console.print(f"{algorithm.value} key written to [bold]{out}[/] (mode 0600)")


@app.command()
def csr(
    key: Annotated[Path, typer.Option(help="The private key (PEM)")],
    out: Annotated[Path | None, typer.Option(help="Write the CSR here instead of standard output")] = None,
    passphrase_env: PassphraseEnv = None,
) -> None:
    """A certificate signing request for the key (PEM), to send to POST /api/v1/identity/me/certificates."""
    request = signing_request(key_from_pem(key.read_bytes(), _passphrase(passphrase_env)))
    if out is None:
        sys.stdout.write(request.decode())
        return
    out.write_bytes(request)
    console.print(f"CSR written to [bold]{out}[/]")


@app.command()
def sign(
    key: Annotated[Path, typer.Option(help="The private key (PEM)")],
    certificate: Annotated[Path, typer.Option(help="The certificate Backbone issued for the key (PEM)")],
    document: Annotated[
        Path, typer.Option(help="The document to sign, exactly as issued ('-': standard input)")
    ],
    out: Annotated[Path, typer.Option(help="Where to write the CMS SignedData (DER)")],
    base64_input: Annotated[
        bool, typer.Option("--base64", help="The document is base64 (as the API's `document` field)")
    ] = False,
    passphrase_env: PassphraseEnv = None,
) -> None:
    """Sign a document Backbone issued: CMS SignedData, attached, SHA-256, with the certificate."""
    data = sys.stdin.buffer.read() if str(document) == "-" else document.read_bytes()
    if base64_input:
        data = base64.b64decode(data.strip(), validate=True)
    signed = sign_document(
        data,
        certificate_pem=certificate.read_bytes(),
        key=key_from_pem(key.read_bytes(), _passphrase(passphrase_env)),
        signing_time=datetime.now(UTC),  # the signer's own clock, as a member's device would use
    )
    out.write_bytes(signed)
    console.print(
        f"signed {len(data):,} bytes; CMS written to [bold]{out}[/] (send it base64 as signed_data)"
    )


@app.command("ca-certificate")
def ca_certificate(
    out: Annotated[Path | None, typer.Option(help="Write the PEM here instead of standard output")] = None,
) -> None:
    """The Backbone root certificate (created on first use), for `openssl cms -verify -CAfile`."""
    resolved = container()
    with resolved.database.transaction() as session:
        pem = resolved.identity.authority.root_certificate_pem(session)
    if out is None:
        sys.stdout.write(pem.decode())
        return
    out.write_bytes(pem)
    console.print(f"root certificate written to [bold]{out}[/]")


@app.command()
def status(serial: Annotated[str, typer.Argument(help="The certificate's serial, hexadecimal")]) -> None:
    """A certificate's status: good, revoked, expired or unknown."""
    resolved = container()
    with resolved.database.reading() as session:
        report = resolved.identity.authority.status(session, serial)
    console.print(f"{report.serial}: [bold]{report.status.value}[/]")


@app.command()
def revoke(
    serial: Annotated[str, typer.Argument(help="The certificate's serial, hexadecimal")],
    reason: Annotated[RevocationReason, typer.Option(help="Why")] = RevocationReason.UNSPECIFIED,
) -> None:
    """Revoke a certificate (operator)."""
    resolved = container()
    with resolved.database.transaction() as session:
        revoked = resolved.identity.authority.revoke(session, serial, reason=reason)
    console.print(f"{revoked.serial}: [bold red]revoked[/] ({reason.value})")


@app.command()
def crl(out: Annotated[Path, typer.Option(help="Where to write the revocation list (DER)")]) -> None:
    """The current certificate revocation list, signed by the root."""
    resolved = container()
    with resolved.database.transaction() as session:
        out.write_bytes(resolved.identity.authority.revocation_list(session))
    console.print(f"CRL written to [bold]{out}[/]")
