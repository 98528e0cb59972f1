// Loaded by every page: htmx (partial updates, such as an ARS call's status) and the forms'
// in-page validation. Heavier modules (certificates, passkeys) are separate bundles that only
// the pages needing them load.
import htmx from "htmx.org";
import { enhanceForms } from "./forms.js";

// No inline styles or eval: the pages' Content-Security-Policy allows neither.
htmx.config.includeIndicatorStyles = false;
htmx.config.allowEval = false;
htmx.config.allowScriptTags = false;
window.htmx = htmx;

document.addEventListener("DOMContentLoaded", () => enhanceForms());
