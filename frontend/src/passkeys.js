// Passkeys (WebAuthn) in the browser: the ceremony options come from the identity API, the
// browser's authenticator answers, and the answer goes back to the API, which verifies it.
// @simplewebauthn/browser converts between the API's JSON and the ArrayBuffers WebAuthn uses.
import { startAuthentication, startRegistration } from "@simplewebauthn/browser";
import { goTo, identityApi } from "./api.js";
import { announce, errorMessage, message } from "./messages.js";

function statusOf(button) {
  return document.getElementById(button.dataset.statusId);
}

async function login(button) {
  const phoneField = button.dataset.phoneField ? document.getElementById(button.dataset.phoneField) : null;
  const phone = phoneField && phoneField.value.trim() ? phoneField.value.trim() : null;
  const ceremony = await identityApi("POST", "/sessions/passkey/options", { phone });
  const credential = await startAuthentication({ optionsJSON: ceremony.options });
  await identityApi("POST", "/sessions/passkey", { challenge_id: ceremony.challenge_id, credential });
}

async function register(button) {
  const ceremony = await identityApi("POST", "/me/passkeys/options");
  const credential = await startRegistration({ optionsJSON: ceremony.options });
  await identityApi("POST", "/me/passkeys", {
    challenge_id: ceremony.challenge_id,
    credential,
    label: button.dataset.label || message("passkey_label"),
  });
}

function wire(button, ceremony, progressKey) {
  button.addEventListener("click", async () => {
    const status = statusOf(button);
    if (!window.PublicKeyCredential) {
      announce(status, message("passkey_unsupported"), "error");
      return;
    }
    button.disabled = true;
    try {
      announce(status, message(progressKey), "info");
      await ceremony(button);
      goTo(button.dataset.doneUrl || window.location.href);
    } catch (error) {
      announce(status, errorMessage(error), "error");
    } finally {
      button.disabled = false;
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-passkey-login]")) wire(button, login, "passkey_waiting");
  for (const button of document.querySelectorAll("[data-passkey-register]")) wire(button, register, "passkey_waiting");
});
