// The signed-in state: the access token in this module's memory only (never localStorage or
// sessionStorage, where any injected script could read it and where it would outlive the tab),
// and the calls that create, renew, use and end it. The refresh token is an httpOnly cookie
// that this code never sees; the browser sends it to /api by itself.

import { ApiError, request } from "./api.js";
import { isExpired } from "./jwt.js";

let accessToken = null;
let expiredHandler = async () => "declined";

/** Thrown by authorized() when the session cannot go on. reason: "declined" | "ended". */
export class SessionEndedError extends Error {
  constructor(reason, cause) {
    super(reason === "declined" ? "The user chose not to refresh the token" : "The session has ended");
    this.reason = reason;
    this.cause = cause;
  }
}

export const currentToken = () => accessToken;
export const forget = () => {
  accessToken = null;
};

/**
 * Who decides what happens when the access token has expired: an async function answering
 * "refreshed" (a new token is in place), "declined" (the user said no) or "ended" (refresh failed).
 * The app puts its "Token expired" dialog here.
 */
export function onExpired(handler) {
  expiredHandler = handler;
}

/** POST /api/auth/local. Resolves with the user; the API sets the refresh cookie. */
export async function login(identifier, password) {
  const answer = await request("/api/auth/local", { method: "POST", body: { identifier, password } });
  accessToken = answer.jwt;
  return answer.user;
}

/**
 * POST /api/auth/local/register. Resolves with {user, signedIn}: signedIn when the API answered
 * like a login ({jwt, user} and the refresh cookie); not when it wants the email address
 * confirmed first (EMAIL_CONFIRMATION=true: {user} only, no token, no cookie).
 */
export async function register(username, email, password) {
  const answer = await request("/api/auth/local/register", { method: "POST", body: { username, email, password } });
  if (typeof answer?.jwt === "string" && answer.jwt) {
    accessToken = answer.jwt;
    return { user: answer.user ?? null, signedIn: true };
  }
  return { user: answer?.user ?? null, signedIn: false };
}

/**
 * POST /api/auth/reset-password with the mailed code. Answers like a login: the token is kept
 * here, the API sets the refresh cookie of a new session (it has ended all the others).
 */
export async function resetPassword(code, password, passwordConfirmation) {
  const answer = await request("/api/auth/reset-password", {
    method: "POST",
    body: { code, password, passwordConfirmation },
  });
  accessToken = answer.jwt;
  return answer.user;
}

/**
 * POST /api/token/refresh with the cookie (body {} — the token is never in a body here).
 * The API rotates the cookie on every success. On failure the in-memory token is dropped.
 */
export async function refresh() {
  try {
    const answer = await request("/api/token/refresh", { method: "POST", body: {} });
    accessToken = answer.jwt;
    return accessToken;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) accessToken = null;
    throw error;
  }
}

/** POST /api/auth/logout: this session, or every session of the user with everywhere. */
export async function logout({ everywhere = false } = {}) {
  try {
    await request("/api/auth/logout", { method: "POST", body: everywhere ? { scope: "all" } : {} });
  } finally {
    accessToken = null; // whatever the server said, this page is logged out
  }
}

// Several calls may hit an expired token at once (the dashboard loads two things in parallel):
// they share one question and one refresh.
let pendingRenewal = null;

async function renewOrEnd() {
  if (!accessToken) throw new SessionEndedError("ended"); // nothing to renew: never ask
  pendingRenewal ??= Promise.resolve()
    .then(() => expiredHandler())
    .finally(() => {
      pendingRenewal = null;
    });
  const outcome = await pendingRenewal;
  if (outcome !== "refreshed") throw new SessionEndedError(outcome);
}

/**
 * A call with the access token. When the token has expired (by its exp, checked before the
 * call, and again after a 401 because the API allows some clock skew), the expired handler is
 * asked and the call is retried once with the new token. A 401 for a token that has not expired
 * means the session was revoked (logout elsewhere, ended from another device): SessionEndedError.
 */
export async function authorized(path, options = {}) {
  if (!accessToken) throw new SessionEndedError("ended");
  if (isExpired(accessToken)) await renewOrEnd();
  const used = accessToken; // judge a 401 by the token this call sent, not by a later one
  try {
    return await request(path, { ...options, token: used });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
    if (accessToken === used && !isExpired(used)) {
      accessToken = null;
      throw new SessionEndedError("ended", error);
    }
    if (accessToken === used) await renewOrEnd();
    // else a parallel call already renewed the token (retry with it) or ended the session
  }
  if (!accessToken) throw new SessionEndedError("ended");
  try {
    return await request(path, { ...options, token: accessToken });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      accessToken = null;
      throw new SessionEndedError("ended", error);
    }
    throw error;
  }
}
