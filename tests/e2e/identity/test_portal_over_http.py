"""End to end against a real server (`backbone serve` in a subprocess, real clock, SQLite): a
member signs up reading the SMS code with `backbone outbox list`, makes a key and CSR with
`backbone identity`, gets a certificate, signs with `backbone identity sign`, proves presence
with it, answers an ARS call with `backbone outbox keypad`; openssl verifies the signature."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.identity import flows
from tests.postgresql import free_port

STARTUP_TIMEOUT_S = 60
COMMAND_TIMEOUT_S = 120
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Server:
    url: str
    environment: dict[str, str]
    directory: Path

    def cli(self, *arguments: str, stdin: bytes | None = None) -> str:
        completed = subprocess.run(  # noqa: S603 - our own command line, from this virtualenv
            [str(BIN / "backbone"), *arguments],
            env=self.environment,
            cwd=self.directory,
            input=stdin,
            capture_output=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr.decode()
        return completed.stdout.decode()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("BACKBONE_")} | {
        "BACKBONE_DATABASE_URL": f"sqlite:///{tmp_path / 'backbone.sqlite3'}",
        "BACKBONE_VAR_DIRECTORY": str(tmp_path / "var"),
        "BACKBONE_PORT": str(port),
        "BACKBONE_COOKIE_SECURE": "false",  # plain http on the loopback
        "BACKBONE_LOG_LEVEL": "WARNING",
    }
    served = Server(url=f"http://127.0.0.1:{port}", environment=environment, directory=tmp_path)
    served.cli("db", "upgrade")
    process = subprocess.Popen(  # noqa: S603
        [str(BIN / "backbone"), "serve"],
        env=environment,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            try:
                if httpx.get(f"{served.url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "the server exited during start-up"
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.2)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


def latest_code(server: Server) -> str:
    messages = json.loads(server.cli("outbox", "list", "--to", flows.PHONE, "--channel", "sms", "--json"))
    match = re.search(r"\[(\d{6})\]", messages[-1]["body"])
    assert match is not None, messages
    return match.group(1)


def test_sign_up_certificate_signature_and_ars_over_a_real_server(server: Server, tmp_path: Path) -> None:
    api = f"{server.url}/api/v1/identity"
    with httpx.Client(base_url=api, timeout=30) as browser:

        def post(path: str, body: object | None = None) -> httpx.Response:
            headers = {"X-CSRF-Token": browser.cookies.get("backbone_csrf") or ""}
            return browser.post(path, json=body, headers=headers)

        assert post("/signup", {"accepted_terms": flows.all_terms()}).status_code == 201
        sent = post("/signup/code", {"name": flows.NAME, "birth_date": "1990-05-17", "phone": flows.PHONE})
        assert sent.status_code == 200, sent.text
        assert post("/signup/code/confirm", {"code": latest_code(server)}).status_code == 200
        joined = post("/signup/complete", {"email": flows.EMAIL})
        assert joined.status_code == 201, joined.text
        welcome = json.loads(server.cli("outbox", "list", "--to", flows.EMAIL, "--json"))
        assert len(welcome) == 1

        server.cli("identity", "keygen", "--algorithm", "rsa-2048", "--out", "member.key")
        assert (tmp_path / "member.key").stat().st_mode & 0o777 == 0o600
        csr = server.cli("identity", "csr", "--key", "member.key")
        issued = post("/me/certificates", {"csr": csr})
        assert issued.status_code == 201, issued.text
        (tmp_path / "member.pem").write_text(issued.json()["certificate_pem"])

        challenge = post("/me/step-up/certificate/challenge").json()
        (tmp_path / "document.b64").write_text(challenge["document"])
        server.cli(
            "identity",
            "sign",
            "--key",
            "member.key",
            "--certificate",
            "member.pem",
            "--document",
            "document.b64",
            "--base64",
            "--out",
            "signed.der",
        )
        signed = (tmp_path / "signed.der").read_bytes()
        proof = post(
            "/me/step-up/certificate",
            {"challenge_id": challenge["challenge_id"], "signed_data": base64.b64encode(signed).decode()},
        )
        assert proof.status_code == 200, proof.text
        assert browser.get("/me/step-up/sign_consent").json()["satisfied_by"] == "certificate"

        server.cli("identity", "ca-certificate", "--out", "ca.pem")
        openssl = shutil.which("openssl")
        assert openssl is not None
        verified = subprocess.run(  # noqa: S603
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
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
        assert verified.returncode == 0, verified.stderr.decode()
        assert (tmp_path / "content").read_bytes() == base64.b64decode(challenge["document"])

        call = post("/me/ars-calls", {"text": "핀테크 기업-금융투자회사 금융거래정보 제3자 제공 동의"}).json()
        rang = json.loads(server.cli("outbox", "list", "--to", flows.PHONE, "--channel", "ars", "--json"))
        assert rang[-1]["reference"] == f"ars:{call['call_id']}"
        server.cli("outbox", "keypad", str(call["call_id"]), call["digits"])
        assert browser.get(f"/me/ars-calls/{call['call_id']}").json()["status"] == "confirmed"

        assert (
            browser.delete(
                "/session", headers={"X-CSRF-Token": browser.cookies.get("backbone_csrf") or ""}
            ).status_code
            == 204
        )
        assert browser.get("/me").status_code == 401
