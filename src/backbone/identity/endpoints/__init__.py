"""Authentication over HTTP, under /api/v1/identity: sign-up, sessions, the member's own security
settings (PIN, passkeys, devices, certificates, step-up), the certificate authority's public face,
and the development outbox and ARS phone."""

from __future__ import annotations

from fastapi import APIRouter

from backbone.identity.endpoints import authority, development, me, sessions, signup
from backbone.identity.endpoints.common import API_PREFIX

identity_router = APIRouter(prefix=API_PREFIX)
for module in (signup, sessions, me, authority, development):
    identity_router.include_router(module.router)

__all__ = ["identity_router"]
