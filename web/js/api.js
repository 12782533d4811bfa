// fetch() for the auth API: same origin, JSON in and out, Strapi's error envelope turned into
// ApiError. Nothing here stores anything.

/** An answer that was not 2xx, from {"data": null, "error": {status, name, message, details}}. */
export class ApiError extends Error {
  constructor({ status, name, message, details = {}, retryAfter = null }) {
    super(message);
    this.status = status;
    this.errorName = name; // Strapi's error name, e.g. ValidationError, UnauthorizedError
    this.details = details;
    this.retryAfter = retryAfter; // seconds, from Retry-After on 429 and 503
  }
}

function retryAfterSeconds(response) {
  const raw = response.headers.get("Retry-After");
  if (!raw) return null;
  if (/^\d+$/.test(raw.trim())) return Number(raw.trim());
  const date = Date.parse(raw); // Retry-After may also be an HTTP date (RFC 9110 §10.2.3)
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/**
 * Call the API. `body` (an object) is sent as JSON; `token` as a Bearer access token.
 * Resolves with the parsed JSON (null for 204); rejects with ApiError.
 */
export async function request(path, { method = "GET", body, token, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json"; // the API refuses other types on cookie routes
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      // Same origin as the page: the refresh cookie (httpOnly, Path=/api) goes along by itself.
      credentials: "same-origin",
      cache: "no-store",
      signal,
    });
  } catch (error) {
    if (error?.name === "AbortError") throw error;
    throw new ApiError({ status: 0, name: "NetworkError", message: "Cannot reach the server. Check your connection and try again." });
  }
  if (response.status === 204) return null;
  let json = null;
  try {
    json = await response.json();
  } catch {
    json = null;
  }
  if (response.ok) return json;
  const error = json && typeof json.error === "object" && json.error ? json.error : {};
  throw new ApiError({
    status: response.status,
    name: typeof error.name === "string" ? error.name : "HttpError",
    message: typeof error.message === "string" && error.message ? error.message : fallbackMessage(response.status),
    details: error.details ?? {},
    retryAfter: retryAfterSeconds(response),
  });
}

function fallbackMessage(status) {
  if (status === 404) return "Not found.";
  if (status >= 500) return "The server could not answer. Try again in a moment.";
  return `The request failed (HTTP ${status}).`;
}

/** One sentence for a person: the API's message, plus when to try again if it said so. */
export function describe(error) {
  if (!(error instanceof ApiError)) return "Something went wrong. Try again.";
  let text = error.message.trim();
  if (!/[.!?]$/.test(text)) text += ".";
  if (error.retryAfter !== null && (error.status === 429 || error.status === 503)) {
    const s = error.retryAfter;
    text += ` Try again in ${s} second${s === 1 ? "" : "s"}.`;
  }
  return text;
}
