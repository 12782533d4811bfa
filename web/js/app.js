// The demo's screens: loading -> login or dashboard, and the "Token expired" dialog; from the
// login screen "Forgot password?" and "Create an account"; from mailed links the new password
// screen (?code=) and the confirmed address (?emailConfirmed=true).
// Everything shown from the API goes in with textContent, never innerHTML: a session's user
// agent is whatever a client sent, and must not become markup.

import * as accountApi from "./account.js";
import { ApiError, describe } from "./api.js";
import { expiresAt } from "./jwt.js";
import * as session from "./session.js";

const $ = (id) => document.getElementById(id);

const screens = {
  loading: { element: $("loading-screen"), title: "Restoring your session" },
  login: { element: $("login-screen"), title: "Log in" },
  dashboard: { element: $("dashboard-screen"), title: "Dashboard" },
  forgot: { element: $("forgot-screen"), title: "Forgot your password?" },
  reset: { element: $("reset-screen"), title: "Choose a new password" },
  register: { element: $("register-screen"), title: "Create an account" },
  confirm: { element: $("confirm-screen"), title: "Confirm your email address" },
};

const loginForm = $("login-form");
const identifierInput = $("identifier");
const passwordInput = $("password");
const loginButton = $("login-button");
const loginError = $("login-error");
const loginStatus = $("login-status");
const loginUnconfirmed = $("login-unconfirmed");

const forgotForm = $("forgot-form");
const forgotEmail = $("forgot-email");
const forgotButton = $("forgot-button");
const forgotError = $("forgot-error");
const forgotStatus = $("forgot-status");

const resetForm = $("reset-form");
const newPassword = $("new-password");
const newPasswordConfirmation = $("new-password-confirmation");
const resetButton = $("reset-button");
const resetError = $("reset-error");
const resetNewLink = $("reset-new-link");

const registerForm = $("register-form");
const registerUsername = $("register-username");
const registerEmail = $("register-email");
const registerPassword = $("register-password");
const registerButton = $("register-button");
const registerError = $("register-error");

const confirmTitle = $("confirm-title");
const confirmStatus = $("confirm-status");
const confirmForm = $("confirm-form");
const confirmEmail = $("confirm-email");
const confirmButton = $("confirm-button");
const confirmError = $("confirm-error");

const dashboardTitle = $("dashboard-title");
const dashboardStatus = $("dashboard-status");
const account = $("account");
const countdown = $("countdown");
const sessionsTitle = $("sessions-title");
const sessionsList = $("sessions");
const whoamiViews = [$("whoami-jwt"), $("whoami-live")];
const reloadButton = $("reload-button");
const logoutButton = $("logout-button");
const logoutAllButton = $("logout-all-button");

const dialog = $("expired-dialog");
const dialogYes = $("expired-yes");
const dialogNo = $("expired-no");
const dialogError = $("expired-error");

const MESSAGES = {
  loggedOut: "You have been logged out.",
  loggedOutEverywhere: "You have been logged out on every device.",
  declined: "You chose not to refresh your token, so you have been logged out.",
  ended: "Your session has ended. Please log in again.",
  // The same words whether or not the address has an account: no enumeration.
  linkSent: "If an account exists for that address, we have sent a link to choose a new password. Check your mail.",
  emailConfirmed: "Your email address is confirmed. You can log in now.",
  checkMail: (email) => `Check your mail: we have sent a confirmation link to ${email}.`,
  linkResent: (email) => `If ${email} belongs to an account that is not confirmed yet, we have sent it a new link.`,
};

// ---------------------------------------------------------------------------------------------
// Links from mails: read what they carry, then take it off the address bar at once (before any
// request), so that the reset code does not linger in the history, a bookmark, a screenshot or
// a shared URL. The page also sends no Referer (index.html's referrer policy).

function takeFromAddressBar(...names) {
  const url = new URL(window.location.href);
  const found = {};
  for (const name of names) {
    if (!url.searchParams.has(name)) continue;
    found[name] = url.searchParams.get(name);
    url.searchParams.delete(name);
  }
  if (Object.keys(found).length > 0) {
    window.history.replaceState(window.history.state, "", `${url.pathname}${url.search}${url.hash}`);
  }
  return found;
}

const fromLink = takeFromAddressBar("code", "emailConfirmed");

// ---------------------------------------------------------------------------------------------
// Screens and messages

function showScreen(name) {
  for (const [key, screen] of Object.entries(screens)) screen.element.hidden = key !== name;
  document.title = `${screens[name].title} — sam-refresh-auth demo`;
  document.body.dataset.screen = name;
}

/** Set a live region's text. Cleared first so that the same message twice is announced twice. */
function say(region, text, kind = "info") {
  region.textContent = "";
  region.dataset.kind = kind;
  if (!text) return;
  // A change after a short pause is what screen readers reliably pick up, also right after
  // the region's screen was unhidden.
  setTimeout(() => {
    region.textContent = text;
  }, 50);
}

// Busy buttons are marked aria-disabled, not disabled: a disabled button drops keyboard focus
// (whether at once or when something else moves it depends on the browser version), and a
// keyboard user must land back on the control they used (WAI-ARIA APG, "Focusability of
// disabled controls" and the modal dialog pattern). A busy button stays focusable and ignores
// activation.
const isBusy = (button) => button.getAttribute("aria-disabled") === "true";

function setBusy(buttons, busy) {
  for (const b of buttons) {
    if (busy) b.setAttribute("aria-disabled", "true");
    else b.removeAttribute("aria-disabled");
  }
}

/** Run with buttons[0] (the one used) and its companions busy: no double submits, focus kept. */
async function whileBusy(buttons, task) {
  if (isBusy(buttons[0])) return undefined;
  setBusy(buttons, true);
  try {
    return await task();
  } finally {
    setBusy(buttons, false);
  }
}

/** A form's request in flight: its button busy and saying so, the form aria-busy. */
async function whileSubmitting(form, button, busyText, task) {
  const idleText = button.textContent;
  form.setAttribute("aria-busy", "true");
  button.textContent = busyText;
  try {
    return await whileBusy([button], task);
  } finally {
    form.removeAttribute("aria-busy");
    button.textContent = idleText;
  }
}

// Form errors: one alert per form, aria-invalid on the fields concerned, focus where to go on.

function showFieldError(region, inputs, text, invalid, focus) {
  say(region, text, "error");
  for (const input of inputs) input.setAttribute("aria-invalid", String(invalid.includes(input)));
  focus.focus();
}

function clearFieldErrors(region, inputs) {
  region.textContent = "";
  for (const input of inputs) input.removeAttribute("aria-invalid");
}

/** The inputs a ValidationError's details name (details.errors[].path[0] = the input's name). */
function fieldsNamed(error, inputs) {
  const errors = error instanceof ApiError && Array.isArray(error.details?.errors) ? error.details.errors : [];
  const names = new Set(errors.map((e) => (Array.isArray(e?.path) ? String(e.path[0]) : "")));
  return inputs.filter((input) => names.has(input.name));
}

/** What is wrong with an email field before asking the API ("" if nothing). */
function emailProblem(input) {
  if (!input.value.trim()) return "Enter your email address.";
  if (input.validity.typeMismatch) return "Enter an email address like name@example.com.";
  return "";
}

const looksLikeEmail = (text) => text.includes("@");

// ---------------------------------------------------------------------------------------------
// Login

function showLogin(message = "", kind = "info") {
  stopCountdown();
  clearDashboard();
  loginError.textContent = "";
  loginUnconfirmed.hidden = true;
  for (const input of [identifierInput, passwordInput]) input.removeAttribute("aria-invalid");
  passwordInput.value = "";
  showScreen("login");
  say(loginStatus, message, kind);
  identifierInput.focus();
}

function showLoginError(text, field) {
  say(loginError, text, "error");
  for (const input of [identifierInput, passwordInput]) {
    input.setAttribute("aria-invalid", String(field === null || input === field));
  }
  (field ?? passwordInput).focus();
}

let loggingIn = false;

loginForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (loggingIn) return;
  const identifier = identifierInput.value.trim();
  const password = passwordInput.value;
  if (!identifier) return showLoginError("Enter your username or email.", identifierInput);
  if (!password) return showLoginError("Enter your password.", passwordInput);

  loggingIn = true;
  loginError.textContent = "";
  loginUnconfirmed.hidden = true;
  say(loginStatus, "");
  loginForm.setAttribute("aria-busy", "true");
  loginButton.textContent = "Logging in…";
  try {
    await whileBusy([loginButton], () => session.login(identifier, password));
    passwordInput.value = "";
    for (const input of [identifierInput, passwordInput]) input.removeAttribute("aria-invalid");
    await showDashboard();
  } catch (error) {
    passwordInput.value = "";
    if (error instanceof ApiError && error.status === 400 && /not confirmed/i.test(error.message)) {
      // 400 ApplicationError "Your account email is not confirmed": both fields were right, and
      // the way on is the mailed link; focus goes to the offer to send it again.
      loginUnconfirmed.hidden = false;
      return showFieldError(loginError, [identifierInput, passwordInput], describe(error), [], loginUnconfirmed.querySelector("a"));
    }
    // 400 ValidationError "Invalid identifier or password": either field may be wrong.
    const both = error instanceof ApiError && error.status === 400;
    showLoginError(describe(error), both ? null : passwordInput);
    if (both) passwordInput.focus();
  } finally {
    loggingIn = false;
    loginForm.removeAttribute("aria-busy");
    loginButton.textContent = "Log in";
  }
});

// ---------------------------------------------------------------------------------------------
// Moving between the signed-out screens: links with data-screen-link (real <a>s, so Enter and
// screen readers treat them as links; no history entries, like the other screens).

document.addEventListener("click", (event) => {
  const link = event.target instanceof Element ? event.target.closest("a[data-screen-link]") : null;
  if (!link) return;
  event.preventDefault();
  const typed = identifierInput.value.trim(); // an address typed on the login screen is kept
  const email = looksLikeEmail(typed) && !screens.login.element.hidden ? typed : "";
  switch (link.dataset.screenLink) {
    case "forgot":
      return showForgot(email);
    case "register":
      return showRegister();
    case "confirm":
      return showConfirm({ email, focus: "field" });
    default:
      return showLogin();
  }
});

// ---------------------------------------------------------------------------------------------
// Forgot password: asks for the address; the answer never says whether it has an account.

function showForgot(email = "") {
  clearFieldErrors(forgotError, [forgotEmail]);
  say(forgotStatus, "");
  forgotEmail.value = email;
  showScreen("forgot");
  forgotEmail.focus();
}

forgotForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (isBusy(forgotButton)) return;
  const problem = emailProblem(forgotEmail);
  if (problem) return showFieldError(forgotError, [forgotEmail], problem, [forgotEmail], forgotEmail);
  clearFieldErrors(forgotError, [forgotEmail]);
  say(forgotStatus, "");
  try {
    await whileSubmitting(forgotForm, forgotButton, "Sending…", () => accountApi.forgotPassword(forgotEmail.value.trim()));
    say(forgotStatus, MESSAGES.linkSent); // focus stays on the button (aria-disabled, never disabled)
  } catch (error) {
    const invalid = error instanceof ApiError && error.status === 400 ? [forgotEmail] : [];
    showFieldError(forgotError, [forgotEmail], describe(error), invalid, forgotEmail);
  }
});

// ---------------------------------------------------------------------------------------------
// New password, from the mailed link. The code stays in this variable only, until it is spent.

let resetCode = null;
const resetInputs = [newPassword, newPasswordConfirmation];

function showReset(code) {
  resetCode = code;
  for (const input of resetInputs) input.value = "";
  clearFieldErrors(resetError, resetInputs);
  showScreen("reset");
  newPassword.focus();
}

resetForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (isBusy(resetButton)) return;
  const password = newPassword.value;
  const confirmation = newPasswordConfirmation.value;
  if (!password) return showFieldError(resetError, resetInputs, "Enter a new password.", [newPassword], newPassword);
  if (!confirmation) {
    return showFieldError(resetError, resetInputs, "Repeat the new password.", [newPasswordConfirmation], newPasswordConfirmation);
  }
  clearFieldErrors(resetError, resetInputs);
  try {
    await whileSubmitting(resetForm, resetButton, "Saving…", () => session.resetPassword(resetCode, password, confirmation));
    resetCode = null; // spent
    for (const input of resetInputs) input.value = "";
    await showDashboard();
  } catch (error) {
    for (const input of resetInputs) input.value = ""; // typed again in any case
    const text = describe(error);
    if (!(error instanceof ApiError) || error.status !== 400) {
      return showFieldError(resetError, resetInputs, text, [], newPassword);
    }
    if (/code/i.test(error.message)) {
      // "Incorrect code provided" (wrong, used, replaced or expired link): no field can fix that,
      // a new link can, so focus goes to the link that asks for one.
      return showFieldError(resetError, resetInputs, text, [], resetNewLink);
    }
    // "Passwords do not match" (either may be wrong) or a field the details name (too short).
    const named = fieldsNamed(error, resetInputs);
    showFieldError(resetError, resetInputs, text, named.length ? named : resetInputs, newPassword);
  }
});

// ---------------------------------------------------------------------------------------------
// Registration: signed in at once, or (EMAIL_CONFIRMATION=true) asked to confirm the address.

const registerInputs = [registerUsername, registerEmail, registerPassword];

function showRegister() {
  clearFieldErrors(registerError, registerInputs);
  registerPassword.value = "";
  showScreen("register");
  registerUsername.focus();
}

registerForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (isBusy(registerButton)) return;
  const username = registerUsername.value.trim();
  const email = registerEmail.value.trim();
  const password = registerPassword.value;
  const missing = (text, input) => showFieldError(registerError, registerInputs, text, [input], input);
  if (!username) return missing("Choose a username.", registerUsername);
  const problem = emailProblem(registerEmail);
  if (problem) return missing(problem, registerEmail);
  if (!password) return missing("Choose a password.", registerPassword);
  clearFieldErrors(registerError, registerInputs);
  try {
    const { user, signedIn } = await whileSubmitting(registerForm, registerButton, "Creating your account…", () =>
      session.register(username, email, password),
    );
    registerPassword.value = "";
    for (const input of registerInputs) input.removeAttribute("aria-invalid");
    if (signedIn) return await showDashboard();
    const address = typeof user?.email === "string" && user.email ? user.email : email;
    for (const input of [registerUsername, registerEmail]) input.value = "";
    showConfirm({ email: address, message: MESSAGES.checkMail(address), focus: "heading" });
  } catch (error) {
    const named = fieldsNamed(error, registerInputs);
    if (named.length) return showFieldError(registerError, registerInputs, describe(error), named, named[0]);
    if (error instanceof ApiError && error.status === 400) {
      // "Email or Username are already taken": the API does not say which, on purpose.
      return showFieldError(registerError, registerInputs, describe(error), [registerUsername, registerEmail], registerUsername);
    }
    // 429, 403 (registration closed), network: nothing wrong with a field; focus stays on the button.
    say(registerError, describe(error), "error");
  }
});

// ---------------------------------------------------------------------------------------------
// Confirming the address: "check your mail", and sending the link again.

function showConfirm({ email = "", message = "", focus = "field" } = {}) {
  clearFieldErrors(confirmError, [confirmEmail]);
  confirmEmail.value = email;
  showScreen("confirm");
  say(confirmStatus, message);
  (focus === "heading" ? confirmTitle : confirmEmail).focus();
}

confirmForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (isBusy(confirmButton)) return;
  const problem = emailProblem(confirmEmail);
  if (problem) return showFieldError(confirmError, [confirmEmail], problem, [confirmEmail], confirmEmail);
  clearFieldErrors(confirmError, [confirmEmail]);
  say(confirmStatus, "");
  try {
    const address = await whileSubmitting(confirmForm, confirmButton, "Sending…", () =>
      accountApi.sendEmailConfirmation(confirmEmail.value.trim()),
    );
    say(confirmStatus, MESSAGES.linkResent(address));
  } catch (error) {
    const invalid = error instanceof ApiError && error.status === 400 ? [confirmEmail] : [];
    showFieldError(confirmError, [confirmEmail], describe(error), invalid, confirmEmail);
  }
});

// ---------------------------------------------------------------------------------------------
// Dashboard

async function showDashboard() {
  showScreen("dashboard");
  say(dashboardStatus, "");
  dashboardTitle.focus();
  startCountdown();
  await guarded(loadDashboard);
}

async function loadDashboard() {
  screens.dashboard.element.setAttribute("aria-busy", "true");
  try {
    const [user, sessions] = await Promise.all([
      session.authorized("/api/users/me"),
      session.authorized("/api/auth/sessions"),
    ]);
    renderUser(user);
    renderSessions(Array.isArray(sessions?.data) ? sessions.data : []);
    await Promise.all(whoamiViews.map(loadWhoami));
  } finally {
    screens.dashboard.element.removeAttribute("aria-busy");
  }
}

async function reloadSessions() {
  const sessions = await session.authorized("/api/auth/sessions");
  renderSessions(Array.isArray(sessions?.data) ? sessions.data : []);
}

// ---------------------------------------------------------------------------------------------
// What your API sees: the example routes answer with the claims their authorizer passed on.

const WHOAMI_FIELDS = [
  ["Route", "route"],
  ["Authorizer", "authorizer"],
  ["Subject (sub)", "sub"],
  ["Session (sid)", "sid"],
  ["Issuer (iss)", "iss"],
  ["Audience (aud)", "aud"],
  ["Expires (exp)", "exp"],
  ["Scopes", "scopes"],
];

/** The authorizers answer {"message": ...} (API Gateway's shape), not Strapi's envelope. */
function whoamiProblem(error) {
  if (error instanceof ApiError && error.status === 404) return "Not in this deployment (ExampleRoutes=false).";
  if (error instanceof ApiError && error.status === 403) return "Refused by the authorizer (403): this session or its user is no longer live.";
  return describe(error);
}

async function loadWhoami(view) {
  const route = view.dataset.route;
  let values;
  try {
    const claims = await session.authorized(route);
    const exp = Number(claims?.exp);
    values = {
      route,
      authorizer: claims?.authorizer === "lambda" ? "Revocation-aware (Lambda)" : "JWT",
      sub: claims?.sub,
      sid: claims?.sid,
      iss: claims?.iss,
      aud: claims?.aud,
      exp: Number.isFinite(exp) && exp > 0 ? timeElement(new Date(exp * 1000).toISOString()) : claims?.exp,
      scopes: Array.isArray(claims?.scopes) && claims.scopes.length ? claims.scopes.join(" ") : "none",
    };
  } catch (error) {
    if (error instanceof session.SessionEndedError) throw error;
    values = { route, authorizer: whoamiProblem(error) };
  }
  view.replaceChildren(
    ...WHOAMI_FIELDS.map(([label, key]) => {
      const item = fact(label, values[key] ?? "—", key === "sub" || key === "sid" || key === "iss");
      item.querySelector("dd").dataset.field = key; // for the browser tests
      return item;
    }),
  );
}

function yesNo(value) {
  if (value === true) return "Yes";
  if (value === false) return "No";
  return "—";
}

function renderUser(user) {
  const values = {
    username: user?.username ?? "—",
    email: user?.email ?? "—",
    confirmed: yesNo(user?.confirmed),
    blocked: yesNo(user?.blocked),
    provider: user?.provider ?? "—",
  };
  for (const dd of account.querySelectorAll("dd[data-field]")) {
    dd.textContent = String(values[dd.dataset.field]);
    dd.dataset.value = String(values[dd.dataset.field]);
  }
}

/** A short, readable name for a user agent string ("Chrome on Linux"); the raw one is shown too. */
function deviceName(userAgent) {
  const ua = String(userAgent || "");
  if (!ua) return "Unknown device";
  const browsers = [
    [/Edg\//, "Edge"],
    [/HeadlessChrome\//, "Headless Chrome"],
    [/OPR\//, "Opera"],
    [/Firefox\//, "Firefox"],
    [/Chrom(e|ium)\//, "Chrome"],
    [/Safari\//, "Safari"],
    [/curl\//, "curl"],
    [/python|urllib|requests|httpx/i, "Python client"],
  ];
  const systems = [
    [/Android/, "Android"],
    [/iPhone|iPad|iOS/, "iOS"],
    [/Windows/, "Windows"],
    [/Mac OS X|Macintosh/, "macOS"],
    [/CrOS/, "ChromeOS"],
    [/Linux/, "Linux"],
  ];
  const browser = browsers.find(([re]) => re.test(ua))?.[1];
  const system = systems.find(([re]) => re.test(ua))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? system ?? "Other client";
}

function timeElement(iso) {
  const time = document.createElement("time");
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) {
    time.textContent = "—";
    return time;
  }
  time.dateTime = date.toISOString();
  time.textContent = date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
  return time;
}

function fact(label, value, wide = false) {
  const wrapper = document.createElement("div");
  if (wide) wrapper.className = "fact-wide";
  const dt = document.createElement("dt");
  dt.textContent = label;
  const dd = document.createElement("dd");
  if (value instanceof Node) dd.append(value);
  else dd.textContent = value || "—";
  wrapper.append(dt, dd);
  return wrapper;
}

function renderSessions(sessions) {
  const sorted = [...sessions].sort(
    (a, b) => Number(Boolean(b.current)) - Number(Boolean(a.current)) || String(b.lastUsedAt).localeCompare(String(a.lastUsedAt)),
  );
  sessionsList.replaceChildren();
  if (sorted.length === 0) {
    const li = document.createElement("li");
    li.className = "session session-empty";
    li.textContent = "No active sessions.";
    sessionsList.append(li);
  }
  for (const s of sorted) {
    const li = document.createElement("li");
    li.className = "session";
    li.dataset.sessionId = String(s.id);
    li.dataset.current = String(Boolean(s.current));

    const head = document.createElement("div");
    head.className = "session-head";
    const name = document.createElement("h3");
    name.className = "session-name";
    name.textContent = deviceName(s.userAgent);
    head.append(name);
    if (s.current) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = "This device";
      head.append(badge);
    }

    const facts = document.createElement("dl");
    facts.className = "facts facts-small";
    facts.append(
      fact("Started", timeElement(s.createdAt)),
      fact("Last used", timeElement(s.lastUsedAt)),
      fact("IP address", s.ip),
      fact("User agent", s.userAgent, true),
    );
    li.append(head, facts);

    if (!s.current) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "button button-danger button-small";
      button.textContent = "End session";
      const started = timeElement(s.createdAt).textContent;
      button.setAttribute("aria-label", `End session: ${name.textContent}, started ${started}`);
      button.addEventListener("click", () => endOtherSession(s.id, button));
      li.append(button);
    }
    sessionsList.append(li);
  }
}

async function endOtherSession(id, button) {
  await whileBusy([button], () =>
    guarded(async () => {
      await session.authorized(`/api/auth/sessions/${encodeURIComponent(id)}`, { method: "DELETE" });
      await reloadSessions();
      say(dashboardStatus, "The other session has ended.");
      sessionsTitle.focus(); // the button is gone with its list item
    }),
  );
}

function clearDashboard() {
  renderUser(null);
  sessionsList.replaceChildren();
  for (const view of whoamiViews) view.replaceChildren();
  countdown.textContent = "";
  say(dashboardStatus, "");
}

// The live countdown: display only, from the token's exp and this browser's clock.
let countdownTimer = null;

function formatSeconds(total) {
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return `${h ? `${h}:` : ""}${mm}:${String(s).padStart(2, "0")}`;
}

function tick() {
  const at = expiresAt(session.currentToken());
  if (at === null) {
    countdown.textContent = "No access token.";
    countdown.dataset.state = "none";
    return;
  }
  const left = Math.ceil((at - Date.now()) / 1000);
  const clock = new Date(at).toLocaleTimeString();
  if (left > 0) {
    countdown.textContent = `Expires in ${formatSeconds(left)} (at ${clock}).`;
    countdown.dataset.state = "valid";
  } else {
    countdown.textContent = `Expired at ${clock}.`;
    countdown.dataset.state = "expired";
  }
}

function startCountdown() {
  stopCountdown();
  tick();
  countdownTimer = setInterval(tick, 1000);
}

function stopCountdown() {
  if (countdownTimer !== null) clearInterval(countdownTimer);
  countdownTimer = null;
}

// ---------------------------------------------------------------------------------------------
// Ending a session and errors of dashboard actions

let ending = false;

async function endSession(reason) {
  if (ending) return;
  ending = true;
  try {
    if (reason === "declined") {
      // "No": log out for real, so the refresh cookie cannot silently sign this browser in again.
      await session.logout().catch(() => {});
      showLogin(MESSAGES.declined);
    } else {
      session.forget();
      showLogin(MESSAGES.ended, "warning");
    }
  } finally {
    ending = false;
  }
}

/** Run a dashboard action; a session that cannot go on leads to the login screen. */
async function guarded(task) {
  try {
    return await task();
  } catch (error) {
    if (error instanceof session.SessionEndedError) return endSession(error.reason);
    say(dashboardStatus, describe(error), "error");
  }
}

reloadButton.addEventListener("click", () =>
  whileBusy([reloadButton], () =>
    guarded(async () => {
      await loadDashboard();
      tick();
      say(dashboardStatus, "Data reloaded.");
    }),
  ),
);

async function logout(everywhere) {
  const used = everywhere ? logoutAllButton : logoutButton;
  const others = [logoutButton, logoutAllButton, reloadButton].filter((b) => b !== used);
  await whileBusy([used, ...others], async () => {
    try {
      await session.logout({ everywhere });
      showLogin(everywhere ? MESSAGES.loggedOutEverywhere : MESSAGES.loggedOut);
    } catch (error) {
      // The token is gone from memory either way; say that the server did not confirm.
      showLogin(`You are logged out of this page, but the server did not confirm it: ${describe(error)}`, "warning");
    }
  });
}

logoutButton.addEventListener("click", () => logout(false));
logoutAllButton.addEventListener("click", () => logout(true));

// ---------------------------------------------------------------------------------------------
// The "Token expired" dialog: the handler session.authorized() calls when the token expired.
// Escape counts as "No": the question is yes or no, and the page cannot go on without a fresh
// token, so dismissing it must not leave a dashboard that silently fails.

session.onExpired(
  () =>
    new Promise((resolve) => {
      const returnFocus = document.activeElement;
      let busy = false;
      let settled = false;

      const setDialogBusy = (value) => {
        busy = value;
        setBusy([dialogYes, dialogNo], value);
        dialogYes.textContent = value ? "Refreshing…" : "Yes";
        dialog.setAttribute("aria-busy", String(value));
      };

      const finish = (outcome) => {
        if (settled) return;
        settled = true;
        dialogYes.removeEventListener("click", onYes);
        dialogNo.removeEventListener("click", onNo);
        dialog.removeEventListener("cancel", onCancel);
        dialog.removeEventListener("close", onClose);
        setDialogBusy(false);
        if (dialog.open) dialog.close(outcome);
        if (outcome === "refreshed") {
          tick();
          // Back where the user was (the button that made the call), else the dashboard heading.
          if (returnFocus instanceof HTMLElement && returnFocus.isConnected && returnFocus !== document.body) {
            returnFocus.focus();
          } else {
            dashboardTitle.focus();
          }
        }
        resolve(outcome);
      };

      async function onYes() {
        if (busy) return;
        setDialogBusy(true);
        dialogError.textContent = "";
        try {
          await session.refresh();
          finish("refreshed");
        } catch (error) {
          if (error instanceof ApiError && error.status === 401) {
            finish("ended"); // revoked, reused or expired refresh token: log in again
          } else {
            setDialogBusy(false); // e.g. 429 or 503: say so and let the user try again
            say(dialogError, describe(error), "error");
            dialogYes.focus();
          }
        }
      }
      const onNo = () => {
        if (!busy) finish("declined");
      };
      const onCancel = (event) => {
        event.preventDefault(); // Escape: answer "No" ourselves (or wait while refreshing)
        if (!busy) finish("declined");
      };
      const onClose = () => {
        if (!busy) finish("declined"); // closed by the browser in any other way
      };

      dialogYes.addEventListener("click", onYes);
      dialogNo.addEventListener("click", onNo);
      dialog.addEventListener("cancel", onCancel);
      dialog.addEventListener("close", onClose);
      dialogError.textContent = "";
      setDialogBusy(false);
      dialog.showModal();
      dialogYes.focus();
    }),
);

// ---------------------------------------------------------------------------------------------
// Start: a reload restores the session silently from the refresh cookie, if there is one.

async function start() {
  // A mailed link was followed: its screen, not the silent restore.
  if (fromLink.code) return showReset(fromLink.code);
  if (fromLink.emailConfirmed === "true") return showLogin(MESSAGES.emailConfirmed);
  showScreen("loading");
  try {
    await session.refresh();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      // No cookie at all is a plain first visit; a cookie the API refused is a session that ended.
      const firstVisit = /missing/i.test(error.message);
      return showLogin(firstVisit ? "" : MESSAGES.ended, "warning");
    }
    return showLogin(`Could not restore your session: ${describe(error)}`, "warning");
  }
  await showDashboard();
}

start();
