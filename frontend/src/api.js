// Calls to Backbone's identity HTTP API from the page, for the steps the browser itself must do
// (WebCrypto keys and signatures, WebAuthn). The session travels in HttpOnly cookies; a
// state-changing call also carries the session's CSRF token, which identity puts in the
// readable `backbone_csrf` cookie for exactly this purpose.

const IDENTITY_API = "/api/v1/identity";
const CSRF_COOKIE = "backbone_csrf";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function csrfToken() {
  for (const part of document.cookie.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === CSRF_COOKIE) return decodeURIComponent(rest.join("="));
  }
  return "";
}

// A refusal from the API: RFC 9457 problem+json with a stable `code`.
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code || "http.error";
    this.problem = problem;
  }
}

export async function identityApi(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (!SAFE_METHODS.has(method)) {
    const token = csrfToken();
    if (token) headers["X-CSRF-Token"] = token;
  }
  // A path under /api/ is taken as it is (another domain's endpoint, such as a consent's);
  // any other is relative to the identity API.
  const url = path.startsWith("/api/") ? path : `${IDENTITY_API}${path}`;
  const response = await fetch(url, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// Go to a page after a script's work. A link to the same page with another #fragment only
// scrolls, so that case reloads: the page must show what the work changed.
export function goTo(url) {
  const target = new URL(url, window.location.href);
  const here = new URL(window.location.href);
  window.location.assign(target.href);
  if (target.pathname === here.pathname && target.search === here.search) window.location.reload();
}
