"""The identity API as the portal uses it: sign-up, cookies, CSRF, logins, step-up, certificates,
problem+json refusals with stable codes."""

from __future__ import annotations

import base64
from datetime import timedelta

from cryptography import x509

from backbone.identity.client import generate_key, sign_document, signing_request
from backbone.identity.dependencies import (
    CSRF_COOKIE,
    CSRF_HEADER,
    DEVICE_COOKIE,
    FLOW_COOKIE,
    SESSION_COOKIE,
)
from backbone.identity.domain import (
    CERTIFICATE_PROOF_FRESH_S,
    PIN_ATTEMPTS_MAX,
    SESSION_IDLE_S,
)
from backbone.kit.clock import SimulatedClock
from tests.identity import flows
from tests.identity.portal import Portal, b64


def test_sign_up_sets_http_only_secure_cookies_and_returns_no_token(portal: Portal) -> None:
    started = portal.post("/signup", json={"accepted_terms": flows.all_terms()})
    assert started.status_code == 201
    flow_cookie = started.headers["set-cookie"]
    assert flow_cookie.startswith(f"{FLOW_COOKIE}=")
    assert "HttpOnly" in flow_cookie
    assert "Secure" in flow_cookie
    assert "SameSite=strict" in flow_cookie
    portal.post("/signup/code", json={"name": flows.NAME, "birth_date": "1990-05-17", "phone": flows.PHONE})
    portal.post("/signup/code/confirm", json={"code": portal.latest_code()})
    completed = portal.post("/signup/complete", json={"email": flows.EMAIL})
    assert completed.status_code == 201
    cookies = {value.split("=", 1)[0]: value for value in completed.headers.get_list("set-cookie")}
    assert {SESSION_COOKIE, DEVICE_COOKIE, CSRF_COOKIE} <= set(cookies)
    assert "HttpOnly" in cookies[SESSION_COOKIE]
    assert "Secure" in cookies[SESSION_COOKIE]
    assert "HttpOnly" in cookies[DEVICE_COOKIE]
    assert "HttpOnly" not in cookies[CSRF_COOKIE]  # the page reads it to send it back
    body = completed.json()
    assert body["name"] == flows.NAME
    assert body["phone"] == "010-****-5678"
    assert {term["code"] for term in body["accepted_terms"]} >= {"service", "privacy"}
    token = portal.client.cookies.get(SESSION_COOKIE)
    assert token is not None
    assert token not in completed.text
    me = portal.get("/me")
    assert me.status_code == 200
    assert me.json()["id"] == body["id"]


def test_a_wrong_code_answers_problem_json_with_a_stable_code_and_attempts_left(portal: Portal) -> None:
    portal.post("/signup", json={"accepted_terms": flows.all_terms()})
    portal.post("/signup/code", json={"name": flows.NAME, "birth_date": "1990-05-17", "phone": flows.PHONE})
    code = portal.latest_code()
    wrong = portal.post("/signup/code/confirm", json={"code": f"{(int(code) + 1) % 10**6:06d}"})
    assert wrong.status_code == 422
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.json()["code"] == "identity.code_wrong"
    assert wrong.json()["attempts_left"] == 4
    assert code not in wrong.text


def test_missing_terms_are_refused(portal: Portal) -> None:
    response = portal.post("/signup", json={"accepted_terms": {"service": "2026-01-01"}})
    assert response.status_code == 422
    assert response.json()["code"] == "identity.terms_not_accepted"


def test_state_changes_without_the_csrf_header_are_refused(portal: Portal) -> None:
    portal.sign_up()
    refused = portal.client.put("/api/v1/identity/me/pin", json={"pin": flows.PIN})
    assert refused.status_code == 403
    assert refused.json()["code"] == "identity.csrf_rejected"
    forged = portal.client.put(
        "/api/v1/identity/me/pin", json={"pin": flows.PIN}, headers={CSRF_HEADER: "guess"}
    )
    assert forged.json()["code"] == "identity.csrf_rejected"
    portal.set_pin()


def test_requests_without_a_session_are_refused(portal: Portal) -> None:
    response = portal.get("/me")
    assert response.status_code == 401
    assert response.json()["code"] == "identity.not_authenticated"


def test_a_session_expires_when_idle(portal: Portal, clock: SimulatedClock) -> None:
    portal.sign_up()
    clock.advance(timedelta(seconds=SESSION_IDLE_S))
    response = portal.get("/me")
    assert response.status_code == 401
    assert response.json()["code"] == "identity.session_expired"
    assert portal.get("/me").json()["code"] == "identity.not_authenticated"  # it stays ended


def test_pin_login_lockout_and_reset_by_sms(portal: Portal) -> None:
    portal.sign_up()
    portal.set_pin()
    portal.logout()
    for attempt in range(1, PIN_ATTEMPTS_MAX):
        wrong = portal.login_with_pin(pin="902468")
        assert wrong.status_code == 401
        assert wrong.json()["code"] == "identity.pin_wrong"
        assert wrong.json()["attempts_left"] == PIN_ATTEMPTS_MAX - attempt
    locked = portal.login_with_pin(pin="902468")
    assert locked.status_code == 423
    assert locked.json()["code"] == "identity.pin_locked"
    still_locked = portal.login_with_pin()  # the right PIN
    assert still_locked.json()["code"] == "identity.pin_locked"
    reset = portal.post(
        "/pin-reset", json={"name": flows.NAME, "birth_date": "1990-05-17", "phone": flows.PHONE}
    )
    assert reset.status_code == 201
    assert portal.post("/pin-reset/code/confirm", json={"code": portal.latest_code()}).status_code == 200
    assert portal.post("/pin-reset/complete", json={"pin": "820573"}).status_code == 204
    logged_in = portal.login_with_pin(pin="820573")
    assert logged_in.status_code == 201, logged_in.text
    assert logged_in.json()["login_factor"] == "pin"


def test_an_unknown_phone_or_a_member_without_a_pin_fails_alike(portal: Portal) -> None:
    response = portal.login_with_pin(phone="010-0000-0000")
    assert response.status_code == 401
    assert response.json()["code"] == "identity.login_failed"
    portal.sign_up()  # no PIN set yet
    portal.logout()
    no_pin = portal.login_with_pin()
    assert no_pin.status_code == 401
    assert no_pin.json()["code"] == "identity.login_failed"
    assert no_pin.json()["detail"] == response.json()["detail"]


def test_a_certificate_needs_a_fresh_identity_verification(portal: Portal, clock: SimulatedClock) -> None:
    portal.sign_up()
    csr = signing_request(generate_key()).decode()
    clock.advance(timedelta(seconds=CERTIFICATE_PROOF_FRESH_S + 1))
    portal.get("/me")  # keeps the session alive; the sign-up's SMS proof is now stale
    refused = portal.post("/me/certificates", json={"csr": csr})
    assert refused.status_code == 403
    assert refused.json()["code"] == "identity.step_up_required"
    assert refused.json()["accepted"] == ["sms"]
    started = portal.post("/me/verification")
    assert started.status_code == 201
    verification_id = started.json()["verification_id"]
    confirmed = portal.post(
        f"/me/verification/{verification_id}/confirm", json={"code": portal.latest_code()}
    )
    assert confirmed.status_code == 200, confirmed.text
    issued = portal.post("/me/certificates", json={"csr": csr})
    assert issued.status_code == 201, issued.text
    serial = issued.json()["serial"]
    assert portal.get(f"/certificates/{serial}/status").json()["status"] == "good"
    assert x509.load_pem_x509_certificate(issued.json()["certificate_pem"].encode()).serial_number == int(
        serial, 16
    )


def test_certificate_step_up_login_and_kept_signature(portal: Portal, clock: SimulatedClock) -> None:
    portal.sign_up()
    key = generate_key()
    issued = portal.post("/me/certificates", json={"csr": signing_request(key).decode()}).json()
    pem = issued["certificate_pem"].encode()
    challenge = portal.post("/me/step-up/certificate/challenge").json()
    document = base64.b64decode(challenge["document"])
    signed = sign_document(document, certificate_pem=pem, key=key, signing_time=clock.now())
    proof = portal.post(
        "/me/step-up/certificate",
        json={"challenge_id": challenge["challenge_id"], "signed_data": b64(signed)},
    )
    assert proof.status_code == 200, proof.text
    kept = portal.get(f"/me/signatures/{proof.json()['signature_id']}")
    assert base64.b64decode(kept.json()["signed_data"]) == signed
    assert portal.get("/me/step-up/sign_consent").json()["satisfied_by"] == "certificate"
    replay = portal.post(
        "/me/step-up/certificate",
        json={"challenge_id": challenge["challenge_id"], "signed_data": b64(signed)},
    )
    assert replay.status_code == 409
    assert replay.json()["code"] == "identity.challenge_used"
    portal.logout()
    login = portal.post("/sessions/certificate/challenge").json()
    signed_login = sign_document(
        base64.b64decode(login["document"]), certificate_pem=pem, key=key, signing_time=clock.now()
    )
    session = portal.post(
        "/sessions/certificate",
        json={"challenge_id": login["challenge_id"], "signed_data": b64(signed_login)},
    )
    assert session.status_code == 201, session.text
    assert session.json()["login_factor"] == "certificate"
    assert session.json()["device_is_new"] is True
    garbage = portal.post(
        "/sessions/certificate", json={"challenge_id": login["challenge_id"], "signed_data": "%%%"}
    )
    assert garbage.status_code == 409  # the challenge was used by the login above


def test_consent_needs_a_signature_or_ars_and_ars_completes_through_the_outbox(portal: Portal) -> None:
    portal.sign_up()
    needed = portal.get("/me/step-up/sign_consent")
    assert needed.status_code == 403
    assert needed.json()["accepted"] == ["ars", "certificate"]
    call = portal.post("/me/ars-calls", json={"text": "핀테크 기업 제3자 제공 동의"})
    assert call.status_code == 201
    digits, call_id = call.json()["digits"], call.json()["call_id"]
    rang = portal.outbox(flows.PHONE, channel="ars")[-1]
    assert rang["reference"] == f"ars:{call_id}"
    assert digits not in rang["body"]  # the phone does not know the code; the screen does
    wrong = portal.post(f"/dev/ars/{call_id}/keypad", json={"digits": f"{(int(digits) + 1) % 100:02d}"})
    assert wrong.json()["code"] == "identity.ars_digits_wrong"
    keyed = portal.post(f"/dev/ars/{call_id}/keypad", json={"digits": digits})
    assert keyed.status_code == 200, keyed.text
    assert portal.get(f"/me/ars-calls/{call_id}").json()["status"] == "confirmed"
    assert portal.get("/me/step-up/sign_consent").json()["satisfied_by"] == "ars"


def test_the_ca_certificate_crl_and_unknown_status_are_public(portal: Portal) -> None:
    pem = portal.get("/ca/certificate")
    assert pem.status_code == 200
    root = x509.load_pem_x509_certificate(pem.content)
    crl = x509.load_der_x509_crl(portal.get("/ca/crl").content)
    assert crl.issuer == root.subject
    assert portal.get("/certificates/00ff/status").json()["status"] == "unknown"


def test_bad_certificate_requests_are_clear_errors(portal: Portal) -> None:
    portal.sign_up()
    malformed = portal.post("/me/certificates", json={"csr": "-----BEGIN CERTIFICATE REQUEST-----\nxx"})
    assert malformed.status_code == 422
    assert malformed.json()["code"] == "identity.invalid_csr"
    oversized = portal.post("/me/certificates", json={"csr": "M" * 20_000})
    assert oversized.status_code == 413
    assert oversized.json()["code"] == "identity.payload_too_large"
    huge = portal.post("/me/certificates", json={"csr": "M" * 2_000_000})
    assert huge.status_code == 413
    assert portal.get("/me/certificates").json() == []


def test_the_openapi_document_and_problem_catalogue_describe_identity(portal: Portal) -> None:
    document = portal.client.get("/openapi.json")
    assert document.status_code == 200
    paths = document.json()["paths"]
    assert "/api/v1/identity/signup" in paths
    assert "/api/v1/identity/me/certificates" in paths
    codes = {problem["code"] for problem in portal.client.get("/problems").json()}
    assert {"identity.code_wrong", "identity.pin_locked", "identity.step_up_required"} <= codes
