// Validation in the page, as a courtesy before the server's own (which always runs). Each field's
// messages are rendered by the server in the page's language as data-message-* attributes; the
// browser's own bubbles are not used, because they speak the browser's language, not the page's.

const CHECKS = [
  ["valueMissing", "messageRequired"],
  ["typeMismatch", "messageFormat"],
  ["patternMismatch", "messageFormat"],
  ["tooShort", "messageFormat"],
  ["tooLong", "messageFormat"],
  ["rangeUnderflow", "messageFormat"],
  ["rangeOverflow", "messageFormat"],
  ["badInput", "messageFormat"],
];

function errorElement(field) {
  return document.getElementById(`${field.id}-error`);
}

function problemOf(field) {
  if (field.dataset.matches) {
    const other = document.getElementById(field.dataset.matches);
    if (other && field.value && other.value !== field.value) return field.dataset.messageMismatch;
  }
  for (const [state, key] of CHECKS) {
    if (field.validity[state]) return field.dataset[key] || field.validationMessage;
  }
  return "";
}

function show(field, text) {
  const slot = errorElement(field);
  if (slot) {
    slot.textContent = text;
    slot.hidden = !text;
  }
  if (text) field.setAttribute("aria-invalid", "true");
  else field.removeAttribute("aria-invalid");
}

export function validate(form) {
  let first = null;
  for (const field of form.querySelectorAll("input, select, textarea")) {
    if (!field.id || field.type === "hidden") continue;
    const text = problemOf(field);
    show(field, text);
    if (text && first === null) first = field;
  }
  return first;
}

function agreeAll(box) {
  const form = box.form;
  const boxes = [...form.querySelectorAll("input[type=checkbox][data-term]")];
  box.addEventListener("change", () => {
    for (const other of boxes) other.checked = box.checked;
  });
  for (const other of boxes) {
    other.addEventListener("change", () => {
      box.checked = boxes.every((candidate) => candidate.checked);
    });
  }
}

export function enhanceForms(root = document) {
  for (const form of root.querySelectorAll("form[data-validate]")) {
    form.noValidate = true;
    form.addEventListener("submit", (event) => {
      const first = validate(form);
      if (first !== null) {
        event.preventDefault();
        first.focus();
      }
    });
    for (const field of form.querySelectorAll("input, select, textarea")) {
      field.addEventListener("input", () => {
        if (field.getAttribute("aria-invalid") === "true") show(field, problemOf(field));
      });
    }
  }
  for (const box of root.querySelectorAll("input[type=checkbox][data-agree-all]")) agreeAll(box);
}
