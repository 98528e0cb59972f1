"""No secret — code, PIN, private key, session, device or flow token, CSRF token — reaches a log
line or an API response body. A full sign-up and every login runs with the production logging
configuration writing into a buffer; then every secret used is searched for."""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import sys
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization

from backbone.identity.client import generate_key, key_to_pem, sign_document, signing_request
from backbone.identity.dependencies import CSRF_COOKIE, DEVICE_COOKIE, FLOW_COOKIE, SESSION_COOKIE
from backbone.kit.clock import SimulatedClock
from backbone.kit.logs import configure_logging
from tests.identity import flows
from tests.identity.authenticator import SoftwareAuthenticator
from tests.identity.portal import Portal, b64


@pytest.fixture
def log_buffer(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buffer)
    configure_logging(level="DEBUG", json=True)
    yield buffer
    logging.getLogger().handlers[:] = []
    monkeypatch.undo()  # the suite's own logging again, to the real stderr (tests/conftest.py)
    configure_logging(level="INFO", json=False)


def occurs(secret: str, text: str) -> bool:
    if secret.isdigit() and len(secret) <= 2:
        # Two digits occur in every timestamp; look for them as a value (`"k": "42"`, `k=42`).
        return re.search(rf"""[:=]\s*"?{secret}"?(?=[,}}\s]|$)""", text, re.MULTILINE) is not None
    if secret.isdigit():  # codes and PINs: whole numbers only, not digits inside an id
        return re.search(rf"(?<!\d){secret}(?!\d)", text) is not None
    return secret in text


def test_a_full_sign_up_and_every_login_leave_no_secret_in_logs_or_responses(
    portal: Portal, clock: SimulatedClock, log_buffer: io.StringIO
) -> None:
    secrets: dict[str, str] = {}
    cookies: set[tuple[str, str]] = set()

    def keep_cookies() -> None:
        for name in (SESSION_COOKIE, DEVICE_COOKIE, FLOW_COOKIE, CSRF_COOKIE):
            value = portal.client.cookies.get(name)
            if value:
                cookies.add((name, value))

    # Sign-up, with a wrong code first.
    portal.post("/signup", json={"accepted_terms": flows.all_terms()})
    keep_cookies()
    portal.post("/signup/code", json={"name": flows.NAME, "birth_date": "1990-05-17", "phone": flows.PHONE})
    code = portal.latest_code()
    secrets["wrong code"] = f"{(int(code) + 7) % 10**6:06d}"
    portal.post("/signup/code/confirm", json={"code": secrets["wrong code"]})
    secrets["code"] = code
    portal.post("/signup/code/confirm", json={"code": code})
    portal.post("/signup/complete", json={"email": flows.EMAIL})
    keep_cookies()
    secrets["pin"] = flows.PIN
    portal.set_pin(flows.PIN)

    # A certificate: key made here, CSR sent, a step-up signature.
    key = generate_key()
    secrets["private key"] = key_to_pem(key).decode()
    secrets["private key (DER, base64)"] = base64.b64encode(
        key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    ).decode()[40:120]
    issued = portal.post("/me/certificates", json={"csr": signing_request(key).decode()}).json()
    challenge = portal.post("/me/step-up/certificate/challenge").json()
    signed = sign_document(
        base64.b64decode(challenge["document"]),
        certificate_pem=issued["certificate_pem"].encode(),
        key=key,
        signing_time=clock.now(),
    )
    assert (
        portal.post(
            "/me/step-up/certificate",
            json={"challenge_id": challenge["challenge_id"], "signed_data": b64(signed)},
        ).status_code
        == 200
    )

    # A passkey, then ARS.
    authenticator = SoftwareAuthenticator()
    secrets["passkey key"] = authenticator.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    options = portal.post("/me/passkeys/options").json()
    assert (
        portal.post(
            "/me/passkeys",
            json={
                "challenge_id": options["challenge_id"],
                "credential": json.loads(authenticator.register(options["options"])),
            },
        ).status_code
        == 201
    )
    call = portal.post("/me/ars-calls", json={}).json()
    secrets["ars digits"] = call["digits"]
    portal.post(f"/dev/ars/{call['call_id']}/keypad", json={"digits": call["digits"]})

    # Log out; log in with a wrong PIN, the PIN, a passkey, and a certificate.
    portal.logout()
    secrets["wrong pin"] = "902468"
    assert portal.login_with_pin(pin="902468").status_code == 401
    assert portal.login_with_pin().status_code == 201
    keep_cookies()
    portal.logout()
    ceremony = portal.post("/sessions/passkey/options", json={"phone": flows.PHONE}).json()
    assert (
        portal.post(
            "/sessions/passkey",
            json={
                "challenge_id": ceremony["challenge_id"],
                "credential": json.loads(authenticator.assertion(ceremony["options"])),
            },
        ).status_code
        == 201
    )
    keep_cookies()
    portal.logout()
    login = portal.post("/sessions/certificate/challenge").json()
    signed_login = sign_document(
        base64.b64decode(login["document"]),
        certificate_pem=issued["certificate_pem"].encode(),
        key=key,
        signing_time=clock.now(),
    )
    assert (
        portal.post(
            "/sessions/certificate",
            json={"challenge_id": login["challenge_id"], "signed_data": b64(signed_login)},
        ).status_code
        == 201
    )
    keep_cookies()

    # And a PIN reset by SMS.
    portal.post("/pin-reset", json={"name": flows.NAME, "birth_date": "1990-05-17", "phone": flows.PHONE})
    keep_cookies()
    secrets["reset code"] = portal.latest_code()
    portal.post("/pin-reset/code/confirm", json={"code": secrets["reset code"]})
    secrets["new pin"] = "820573"
    assert portal.post("/pin-reset/complete", json={"pin": "820573"}).status_code == 204

    for index, (name, value) in enumerate(sorted(cookies)):
        secrets[f"{name} {index}"] = value
    assert {name for name, _ in cookies} == {SESSION_COOKIE, DEVICE_COOKIE, FLOW_COOKIE, CSRF_COOKIE}
    assert sum(1 for name, _ in cookies if name == SESSION_COOKIE) >= 4  # sign-up and three logins

    logs = log_buffer.getvalue()
    assert "identity.member_joined" in logs
    assert "identity.session_opened" in logs
    assert "http.request" in logs
    leaked = [name for name, value in secrets.items() if occurs(value, logs)]
    assert leaked == [], f"secrets in the logs: {leaked}"

    # The member must read the ARS digits to key them in; the page must read the CSRF token to
    # send it back (it is also in a readable cookie); both are shown by design.
    shown_on_screen = {"ars digits", *(name for name in secrets if name.startswith(CSRF_COOKIE))}
    for response in portal.responses:
        if response.request.url.path.endswith("/dev/outbox"):
            continue  # the development phone and mailbox: their whole point is to hold codes
        visible = response.text + "".join(
            f"{name}: {value}\n" for name, value in response.headers.items() if name.lower() != "set-cookie"
        )
        leaked = [
            name for name, value in secrets.items() if name not in shown_on_screen and occurs(value, visible)
        ]
        assert leaked == [], f"{response.request.method} {response.request.url.path} returned {leaked}"
