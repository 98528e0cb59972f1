"""The certificate authority's public face: its certificate, its revocation list, and the status
of any certificate by serial (an OCSP-like answer in JSON). No session needed."""

from __future__ import annotations

from fastapi import APIRouter, Response

from backbone.identity.endpoints.common import ClockDep, DatabaseDep, IdentityDep
from backbone.identity.schemas import CertificateStatusOut

router = APIRouter(tags=["identity: certificate authority"])
CRL_CACHE_S = 300


@router.get("/ca/certificate", summary="The Backbone root certificate (PEM)", response_class=Response)
def ca_certificate(database: DatabaseDep, identity: IdentityDep) -> Response:
    with database.transaction() as session:  # the root is created on first use
        pem = identity.authority.root_certificate_pem(session)
    return Response(pem, media_type="application/x-pem-file")


@router.get(
    "/ca/crl", summary="The certificate revocation list (DER, signed by the root)", response_class=Response
)
def revocation_list(database: DatabaseDep, identity: IdentityDep) -> Response:
    with database.transaction() as session:  # numbering the CRL writes its counter
        crl = identity.authority.revocation_list(session)
    return Response(
        crl, media_type="application/pkix-crl", headers={"Cache-Control": f"max-age={CRL_CACHE_S}"}
    )


@router.get("/certificates/{serial}/status", summary="good, revoked, expired or unknown")
def certificate_status(
    serial: str, database: DatabaseDep, identity: IdentityDep, clock: ClockDep
) -> CertificateStatusOut:
    with database.reading() as session:
        return CertificateStatusOut.of(identity.authority.status(session, serial[:64]), clock.now())
