// Reading (never verifying) an access token's payload. The browser only uses `exp` to show a
// countdown and to ask before a call that would fail; the API is what checks signatures.

/** The JSON payload of a JWT, or null when the token is not a readable JWT. */
export function decodePayload(token) {
  const parts = typeof token === "string" ? token.split(".") : [];
  if (parts.length !== 3) return null;
  try {
    // base64url (RFC 7515 §2) without padding -> base64 -> bytes -> UTF-8 text -> JSON
    const base64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    const payload = JSON.parse(new TextDecoder().decode(bytes));
    return payload && typeof payload === "object" ? payload : null;
  } catch {
    return null;
  }
}

/** When the token expires, in milliseconds since the epoch, or null when it has no usable exp. */
export function expiresAt(token) {
  const exp = decodePayload(token)?.exp;
  return Number.isFinite(exp) ? exp * 1000 : null;
}

/** True when the token's exp has passed by this browser's clock (or the token is unreadable). */
export function isExpired(token, now = Date.now()) {
  const at = expiresAt(token);
  return at === null || now >= at;
}
