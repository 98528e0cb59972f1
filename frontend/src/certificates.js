// Certificates in the browser: registration (key pair, CSR, issuance, kept in IndexedDB), the
// reusable "sign this document" component, and marks on the certificates this browser holds.
//
// The sign component is markup the server renders (templates/components/sign_document.html):
//   <section data-sign-document
//            data-challenge-id="…" data-document="base64"      (a challenge the page issued), or
//            data-challenge-path="/sessions/certificate/challenge"  (one fetched on demand)
//            data-submit-path="/me/step-up/certificate"  data-member-id="…"  data-done-url="…">
// It signs exactly the issued document bytes as CMS SignedData and posts
// {challenge_id, signed_data} to the submit path; other domains (consents) reuse it by giving
// their own paths. A `backbone:signed` event carries the server's answer.
import { ApiError, goTo, identityApi } from "./api.js";
import * as keystore from "./keystore.js";
import { announce, errorMessage, message } from "./messages.js";
import { base64ToBytes, bytesToBase64, certificationRequest, generateKeyPair, pemToDer, signDocument } from "./pki.js";

function memberIdOf(element) {
  const value = element.dataset.memberId;
  return value ? Number(value) : undefined;
}

function busy(button, on) {
  button.disabled = on;
  button.setAttribute("aria-busy", on ? "true" : "false");
}

function enhanceIssue(form) {
  const status = form.querySelector("[data-status]");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    const algorithm = form.elements.algorithm.value;
    const extended = form.elements.extended ? form.elements.extended.checked : false;
    busy(button, true);
    try {
      announce(status, message("generating_key"), "info");
      const keyPair = await generateKeyPair(algorithm);
      const request = await certificationRequest(keyPair, form.dataset.commonName || "Backbone member");
      announce(status, message("requesting_certificate"), "info");
      const issued = await identityApi("POST", "/me/certificates", { csr: bytesToBase64(request), extended });
      await keystore.keep({
        serial: issued.serial,
        memberId: memberIdOf(form),
        subject: issued.subject,
        algorithm,
        notAfter: issued.not_after,
        certificate: pemToDer(issued.certificate_pem),
        privateKey: keyPair.privateKey,
        storedAt: new Date().toISOString(),
      });
      announce(status, message("certificate_issued", { serial: issued.serial }), "success");
      form.dispatchEvent(new CustomEvent("backbone:certificate-issued", { detail: issued, bubbles: true }));
      if (form.dataset.doneUrl) goTo(form.dataset.doneUrl);
    } catch (error) {
      announce(status, errorMessage(error), "error");
    } finally {
      busy(button, false);
    }
  });
}

function documentText(documentBytes) {
  try {
    return JSON.parse(new TextDecoder().decode(documentBytes)).text;
  } catch {
    return null;
  }
}

function enhanceSign(section) {
  const status = section.querySelector("[data-status]");
  const button = section.querySelector("[data-sign-button]");
  const shown = section.querySelector("[data-document-text]");
  let challenge = null;
  if (section.dataset.challengeId && section.dataset.document) {
    challenge = { challenge_id: Number(section.dataset.challengeId), document: section.dataset.document };
  }
  // What you see is what you sign: the text shown is the one inside the bytes to be signed.
  const showDocument = () => {
    const text = challenge ? documentText(base64ToBytes(challenge.document)) : null;
    if (shown && text !== null) shown.textContent = text;
  };
  showDocument();
  button.addEventListener("click", async () => {
    busy(button, true);
    try {
      const held = await keystore.usable(memberIdOf(section));
      if (held === null) {
        announce(status, message("no_certificate_here"), "error");
        return;
      }
      if (challenge === null) {
        challenge = await identityApi("POST", section.dataset.challengePath);
        showDocument();
      }
      announce(status, message("signing"), "info");
      const signed = await signDocument(base64ToBytes(challenge.document), held.privateKey, held.certificate);
      const answer = await identityApi("POST", section.dataset.submitPath, {
        challenge_id: challenge.challenge_id,
        signed_data: bytesToBase64(signed),
      });
      challenge = null; // single use
      announce(status, message("signed", { serial: held.serial }), "success");
      section.dispatchEvent(new CustomEvent("backbone:signed", { detail: answer || {}, bubbles: true }));
      if (section.dataset.doneUrl) {
        const signatureId = answer && answer.signature_id !== undefined ? String(answer.signature_id) : "";
        goTo(section.dataset.doneUrl.replace("{signature_id}", encodeURIComponent(signatureId)));
      }
    } catch (error) {
      if (error instanceof ApiError && ["identity.challenge_used", "identity.challenge_expired"].includes(error.code)) {
        challenge = null; // the next click asks for a fresh one, when the component can
      }
      announce(status, errorMessage(error), "error");
    } finally {
      busy(button, false);
    }
  });
}

async function markHeld(list) {
  const held = new Set((await keystore.all()).map((record) => record.serial));
  for (const row of list.querySelectorAll("[data-serial]")) {
    const badge = row.querySelector("[data-held-badge]");
    if (badge) badge.hidden = !held.has(row.dataset.serial);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-certificate-issue]")) enhanceIssue(form);
  for (const section of document.querySelectorAll("[data-sign-document]")) enhanceSign(section);
  for (const list of document.querySelectorAll("[data-certificate-list]")) markHeld(list);
});
