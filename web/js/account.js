// Account calls that neither need nor create a session: asking for a password reset link and
// for another email confirmation link. Both answer the same for every address (the API only
// queues the request; its mailer decides whether a mail goes out), so nothing here can tell
// whether an account exists, and neither can the page.

import { request } from "./api.js";

/** POST /api/auth/forgot-password: {"ok": true} whatever the address. */
export async function forgotPassword(email) {
  await request("/api/auth/forgot-password", { method: "POST", body: { email } });
}

/** POST /api/auth/send-email-confirmation: resolves with the address the API read ({email, sent}). */
export async function sendEmailConfirmation(email) {
  const answer = await request("/api/auth/send-email-confirmation", { method: "POST", body: { email } });
  return typeof answer?.email === "string" && answer.email ? answer.email : email;
}
