// strapi-sdk-js, unchanged, against the local runner: register, forgotPassword, the code from the
// runner's outbox (.eml files), resetPassword, login with the new password (and not the old one),
// sendEmailConfirmation. Driven by tests/e2e/test_strapi_sdk.py.
//
// Input: one JSON object on stdin
//   {url, outbox, username, email, password, newPassword, mailTimeoutMs}
// Output: one JSON object on stdout with what each SDK call returned (no passwords, no tokens);
// exit code 1 with the reason on stderr when a step fails.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import Strapi from "strapi-sdk-js";

const POLL_MS = 100;

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

async function emlFiles(outbox) {
  try {
    return (await readdir(outbox)).filter((name) => name.endsWith(".eml")).sort();
  } catch (error) {
    if (error.code === "ENOENT") return [];
    throw error;
  }
}

// --- just enough RFC 5322 / MIME to read the runner's mail -----------------------------------

function splitMessage(raw) {
  const match = /\r?\n\r?\n/.exec(raw);
  if (!match) return { headers: {}, body: "" };
  const headers = {};
  const unfolded = raw.slice(0, match.index).replace(/\r?\n[ \t]+/g, " ");
  for (const line of unfolded.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body: raw.slice(match.index + match[0].length) };
}

function decodeBody(body, encoding) {
  switch ((encoding || "7bit").toLowerCase()) {
    case "quoted-printable": {
      const soft = body.replace(/=\r?\n/g, "");
      const bytes = [];
      for (let i = 0; i < soft.length; i++) {
        const hex = soft.slice(i + 1, i + 3);
        if (soft[i] === "=" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
          bytes.push(parseInt(hex, 16));
          i += 2;
        } else {
          bytes.push(...Buffer.from(soft[i], "utf8"));
        }
      }
      return Buffer.from(bytes).toString("utf8");
    }
    case "base64":
      return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
    default:
      return body;
  }
}

function textParts(raw) {
  const { headers, body } = splitMessage(raw);
  const type = headers["content-type"] || "text/plain";
  const boundary = /boundary="?([^";]+)"?/i.exec(type);
  if (!/^multipart\//i.test(type) || !boundary) {
    return /^text\/plain/i.test(type) ? [decodeBody(body, headers["content-transfer-encoding"])] : [];
  }
  const parts = body.split(`--${boundary[1]}`).slice(1); // the preamble goes; "--" ends the last
  return parts.filter((part) => !part.startsWith("--")).flatMap((part) => textParts(part.replace(/^\r?\n/, "")));
}

function recipients(raw) {
  const to = splitMessage(raw).headers.to || "";
  return (to.match(/[^\s<>,"]+@[^\s<>,"]+/g) || []).map((address) => address.toLowerCase());
}

// The reset code of the first new mail to `email` (RESET_PASSWORD_URL?code=...), within the timeout.
async function waitForCode({ outbox, email, url }, seen, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const name of await emlFiles(outbox)) {
      if (seen.has(name)) continue;
      const raw = await readFile(path.join(outbox, name), "utf8");
      if (!recipients(raw).includes(email.toLowerCase())) continue;
      for (const text of textParts(raw)) {
        const link = /https?:\/\/\S+[?&]code=([A-Za-z0-9_-]+)/.exec(text);
        if (link) return { file: name, link: link[0], code: link[1], linkMatchesRunner: link[0].startsWith(`${url}/?code=`) };
      }
      seen.add(name); // a mail to this address without a code (e.g. a confirmation)
    }
    if (Date.now() >= deadline) throw new Error(`no reset mail to ${email} in ${outbox} within ${timeoutMs} ms`);
    await sleep(POLL_MS);
  }
}

// The SDK throws Strapi's error envelope ({data, error}); anything else is a bug here.
function describe(error) {
  if (error && error.error && typeof error.error === "object") {
    const { status, name, message } = error.error;
    return { status, name, message };
  }
  return { status: null, name: error?.name ?? "Error", message: String(error?.message ?? error) };
}

async function step(name, call) {
  try {
    return await call();
  } catch (error) {
    throw new Error(`${name} failed: ${JSON.stringify(describe(error))}`);
  }
}

async function main() {
  const input = await readStdin();
  const strapi = new Strapi({ url: input.url, prefix: "/api" });
  const out = {};

  const registered = await step("register", () =>
    strapi.register({ username: input.username, email: input.email, password: input.password }),
  );
  out.register = { user: registered.user, hasJwt: typeof registered.jwt === "string" };

  const seen = new Set(await emlFiles(input.outbox));
  out.forgotPassword = await step("forgotPassword", () => strapi.forgotPassword({ email: input.email }));

  const mail = await waitForCode(input, seen, input.mailTimeoutMs ?? 20000);
  out.mail = { file: mail.file, linkMatchesRunner: mail.linkMatchesRunner, codeLength: mail.code.length };

  const reset = await step("resetPassword", () =>
    strapi.resetPassword({ code: mail.code, password: input.newPassword, passwordConfirmation: input.newPassword }),
  );
  out.resetPassword = { user: reset.user, hasJwt: typeof reset.jwt === "string" };

  const login = await step("login", () => strapi.login({ identifier: input.email, password: input.newPassword }));
  out.login = { user: login.user, hasJwt: typeof login.jwt === "string" };

  try {
    await strapi.login({ identifier: input.email, password: input.password });
    out.oldPasswordLogin = { refused: false };
  } catch (error) {
    out.oldPasswordLogin = { refused: true, ...describe(error) };
  }

  try {
    await strapi.resetPassword({ code: mail.code, password: input.newPassword, passwordConfirmation: input.newPassword });
    out.codeReused = { refused: false };
  } catch (error) {
    out.codeReused = { refused: true, ...describe(error) };
  }

  out.sendEmailConfirmation = await step("sendEmailConfirmation", () =>
    strapi.sendEmailConfirmation({ email: input.email }),
  );
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
