// The page's translated messages for what scripts show (errors, progress). The server renders
// them from the same catalogs as the page, in the page's language, into a JSON script element,
// so no text is hard-coded here.

let catalog = null;

function load() {
  if (catalog === null) {
    const element = document.getElementById("portal-messages");
    catalog = element ? JSON.parse(element.textContent) : { errors: {}, script: {} };
  }
  return catalog;
}

function fill(template, parameters) {
  return template.replace(/\{(\w+)\}/g, (whole, name) =>
    parameters && parameters[name] !== undefined ? String(parameters[name]) : whole,
  );
}

export function message(key, parameters) {
  const text = load().script[key];
  return text === undefined ? key : fill(text, parameters);
}

// A readable sentence for any failure: a problem code the catalog knows, or the generic one.
export function errorMessage(error) {
  const errors = load().errors;
  const code = error && error.code;
  if (code && errors[code] !== undefined) return fill(errors[code], error.problem || {});
  if (error && error.name === "NotAllowedError") return message("passkey_cancelled");
  return fill(errors.generic, { code: code || (error && error.name) || "error" });
}

// Show a status or error line in a live region, so screen readers announce it.
export function announce(element, text, kind) {
  if (!element) return;
  element.textContent = text;
  element.dataset.kind = kind || "info";
  element.hidden = !text;
}
