"""Certificates made in the browser: the key pair is WebCrypto's (non-extractable), the CSR is
built in the page, the identity API issues the certificate after a fresh SMS verification, and
IndexedDB keeps both. Then the reusable sign component signs a challenge as CMS SignedData, which
the server verifies and keeps, and which `openssl cms -verify` accepts too."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.web.harness import Portal
from tests.e2e.web.journeys import log_in_with_pin, log_out, new_person, sign_up

KEPT_IN_BROWSER = """async () => {
  const database = await new Promise((resolve, reject) => {
    const request = indexedDB.open("backbone-certificates");
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const records = await new Promise((resolve) => {
    const request = database.transaction("certificates").objectStore("certificates").getAll();
    request.onsuccess = () => resolve(request.result);
  });
  database.close();
  return records.map((record) => ({
    serial: record.serial,
    algorithm: record.privateKey.algorithm.name,
    extractable: record.privateKey.extractable,
    type: record.privateKey.type,
    certificateBytes: record.certificate.byteLength,
  }));
}"""


def register_certificate(
    page: Page, portal: Portal, phone: str, *, verify_first: bool, algorithm: str = "ECDSA P-256 (권장)"
) -> None:
    """From my page (through the SMS re-verification when the session has no fresh one) to a
    certificate issued and kept in this browser."""
    page.goto("/my")
    page.get_by_role("link", name="인증서 등록").first.click()
    if verify_first:
        expect(page.get_by_role("heading", name="본인확인")).to_be_visible()
        page.get_by_role("button", name="인증번호 받기").click()
        page.get_by_role("textbox", name="인증번호").fill(portal.latest_sms_code(phone))
        page.get_by_role("button", name="확인").click()
    expect(page.get_by_role("heading", name="키 생성 및 인증서 발급")).to_be_visible()
    page.get_by_label("키 알고리즘").select_option(label=algorithm)
    page.get_by_role("button", name="키 생성 및 발급").click()
    expect(page).to_have_url(f"{portal.url}/my#certificates", timeout=30_000)


def test_certificate_issued_for_a_key_made_in_the_browser_is_kept_there_with_a_non_extractable_key(
    page: Page, portal: Portal
) -> None:
    person = new_person()
    sign_up(page, portal, person)
    # A PIN login is not an SMS proof: certificate issuance asks for identity again.
    log_out(page)
    log_in_with_pin(page, person)
    register_certificate(page, portal, person.phone, verify_first=True)

    kept = page.evaluate(KEPT_IN_BROWSER)
    assert len(kept) == 1
    assert kept[0]["algorithm"] == "ECDSA"
    assert kept[0]["type"] == "private"
    assert kept[0]["extractable"] is False
    assert kept[0]["certificateBytes"] > 300
    row = page.locator(f"tr[data-serial='{kept[0]['serial']}']")
    expect(row.get_by_text("유효")).to_be_visible()
    expect(row.get_by_text("이 브라우저에 저장됨")).to_be_visible()


def test_document_signed_in_the_browser_is_verified_by_the_server_and_by_openssl(
    page: Page, portal: Portal, tmp_path: Path
) -> None:
    person = new_person()
    sign_up(page, portal, person)  # the sign-up's SMS verification still counts: no second code
    register_certificate(page, portal, person.phone, verify_first=False, algorithm="RSA 2048")

    page.goto("/my/security")
    signer = page.locator("[data-sign-document]")
    document = signer.locator("[data-document-text]")
    expect(document).to_contain_text(f"본인({person.name})임을 확인")
    expect(page.locator("tr[data-operation='sign_consent']").get_by_text("추가 인증 필요")).to_be_visible()
    signer.get_by_role("button", name="인증서로 서명").click()

    expect(page.get_by_text("전자서명이 확인되었습니다.")).to_be_visible(timeout=30_000)
    expect(page.locator("[data-proofs] [data-factor='certificate']")).to_be_visible()
    expect(page.locator("tr[data-operation='sign_consent']").get_by_text("가능")).to_be_visible()

    # The kept CMS is standard: openssl verifies it against Backbone's root and gets the document.
    signature_id = page.url.rsplit("=", 1)[1]
    kept = page.request.get(f"/api/v1/identity/me/signatures/{signature_id}")
    assert kept.status == 200
    (tmp_path / "signed.der").write_bytes(base64.b64decode(kept.json()["signed_data"]))
    (tmp_path / "ca.pem").write_text(
        httpx.get(f"{portal.url}/api/v1/identity/ca/certificate", timeout=10).text
    )
    openssl = shutil.which("openssl")
    assert openssl is not None
    verified = subprocess.run(  # noqa: S603 - the system's openssl on files this test wrote
        [
            openssl,
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-in",
            "signed.der",
            "-CAfile",
            "ca.pem",
            "-out",
            "content",
        ],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr.decode()
    assert f"본인({person.name})임을 확인".encode() in (tmp_path / "content").read_bytes()


def test_certificate_login_signs_a_login_challenge_with_the_key_kept_in_this_browser(
    page: Page, portal: Portal
) -> None:
    person = new_person(name="한도윤")
    sign_up(page, portal, person)
    register_certificate(page, portal, person.phone, verify_first=False)
    log_out(page)

    page.goto("/login")
    login = page.locator("[data-sign-document]")
    login.get_by_role("button", name="인증서로 서명하고 로그인").click()
    expect(page).to_have_url(f"{portal.url}/my", timeout=30_000)
    expect(page.get_by_text(person.email)).to_be_visible()
    session = page.request.get("/api/v1/identity/session").json()
    assert session["login_factor"] == "certificate"
