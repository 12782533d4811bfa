"""The web demo's account screens in headless Chromium against the local runner: forgot password,
the new password screen the mailed link opens, registration, and the email confirmation landing.

Mail is read from the runner's outbox (.eml files) with Runner.wait_for_mail. Every test makes
users of its own: resetting the demo user's password would break the other browser tests, which
share the session-scoped runner. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

playwright = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
expect = playwright.expect

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

    from tests.e2e.conftest import Runner

pytestmark = pytest.mark.browser

COOKIE = "refreshToken"  # COOKIE_SECURE=false locally: no __Host- prefix, Path=/api
LINK = re.compile(r"https?://[^\s<>\"']+")
LINK_SENT = "If an account exists for that address, we have sent a link to choose a new password. Check your mail."
EMAIL_CONFIRMED = "Your email address is confirmed. You can log in now."

NewPage = Callable[..., "Page"]


@dataclass(frozen=True)
class User:
    username: str
    email: str
    password: str


# --- helpers ---------------------------------------------------------------------------------


def shot(page: Page, folder: Path, name: str) -> None:
    page.screenshot(path=folder / f"{name}.png", full_page=True)


def field(page: Page, label: str) -> Locator:
    """A field of the screen on show, by its label's exact text (hidden screens have fields of the
    same names: every signed-out screen but one asks for an "Email")."""
    return page.locator("#main > .screen:not([hidden])").get_by_label(label, exact=True)


def fresh_user() -> User:
    username = f"u{secrets.token_hex(5)}"
    return User(username, f"{username}@example.com", f"first password {secrets.token_hex(4)}")


def register(runner: Runner, user: User) -> None:
    """A user of the test's own, made over HTTP (confirmed: this runner needs no confirmation)."""
    answer = runner.request(
        "POST", "/api/auth/local/register", {"username": user.username, "email": user.email, "password": user.password}
    )
    assert answer.status == 200, answer.raw
    assert answer.body["user"]["confirmed"] is True


def mailed_link(message: EmailMessage) -> str:
    """The link of a mail's plain text part."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "mail without a text part"
    match = LINK.search(part.get_content())  # type: ignore[attr-defined]
    assert match, f"no link in the mail {message['Subject']!r}"
    return match.group(0)


def ask_for_reset_link(runner: Runner, user: User) -> str:
    """POST /api/auth/forgot-password over HTTP and the link of the mail that follows."""
    before = len(runner.outbox())
    answer = runner.request("POST", "/api/auth/forgot-password", {"email": user.email})
    assert answer.status == 200, answer.raw
    return mailed_link(runner.wait_for_mail(user.email, before))


def refresh_cookie(page: Page, runner: Runner) -> str | None:
    values = [c["value"] for c in page.context.cookies(runner.url + "/api/") if c["name"] == COOKIE]
    return values[0] if values else None


def expect_login_screen(page: Page, message: str | None = None) -> None:
    expect(page.get_by_role("heading", name="Log in", level=1)).to_be_visible()
    expect(field(page, "Username or email")).to_be_focused()
    if message is not None:
        expect(page.locator("#login-status")).to_have_text(message)


def expect_dashboard_of(page: Page, user: User) -> None:
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_focused()
    expect(page.locator('#account dd[data-field="username"]')).to_have_text(user.username)
    expect(page.locator('#account dd[data-field="email"]')).to_have_text(user.email)
    expect(page.locator("#sessions li[data-current=true]")).to_have_count(1)


def log_in(page: Page, runner: Runner, identifier: str, password: str) -> None:
    page.goto(runner.url + "/")
    expect_login_screen(page)
    field(page, "Username or email").fill(identifier)
    field(page, "Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def expect_reset_screen(page: Page, runner: Runner) -> None:
    """The new password screen, with the code already gone from the address bar."""
    expect(page.get_by_role("heading", name="Choose a new password", level=1)).to_be_visible()
    expect(page).to_have_url(runner.url + "/")
    expect(field(page, "New password")).to_be_focused()


def set_new_password(page: Page, password: str, again: str | None = None) -> None:
    field(page, "New password").fill(password)
    field(page, "Repeat the new password").fill(password if again is None else again)
    page.get_by_role("button", name="Set the new password").click()


# --- forgot password and the new password screen --------------------------------------------


def test_forgot_password_mails_a_link_that_sets_a_new_password_and_signs_in(
    runner: Runner, new_page: NewPage, screenshots: Path
) -> None:
    # Given a user of our own on the login screen
    user = fresh_user()
    register(runner, user)
    page = new_page()
    page.goto(runner.url + "/")
    expect_login_screen(page)

    # When they follow "Forgot password?" and send their address, with the keyboard only
    page.get_by_role("link", name="Forgot password?").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Forgot your password?", level=1)).to_be_visible()
    email = field(page, "Email")
    expect(email).to_be_focused()
    expect(email).to_have_attribute("autocomplete", "email")
    expect(page).to_have_title(re.compile("^Forgot your password"))
    before = len(runner.outbox())
    page.keyboard.type(user.email)
    page.keyboard.press("Enter")

    # Then the page says a link is on its way (the words it uses for any address), focus stays
    expect(page.get_by_role("status").filter(has_text="If an account")).to_have_text(LINK_SENT)
    expect(email).to_be_focused()
    shot(page, screenshots, "13-forgot-password-sent")

    # And the mail links to this app with a code
    link = mailed_link(runner.wait_for_mail(user.email, before))
    assert link.startswith(runner.url + "/?code=")

    # When the link is opened
    page.goto(link)

    # Then the new password screen shows and the code is off the address bar at once
    expect_reset_screen(page, runner)
    for label in ("New password", "Repeat the new password"):
        expect(field(page, label)).to_have_attribute("type", "password")
        expect(field(page, label)).to_have_attribute("autocomplete", "new-password")
    assert "code" not in page.evaluate("location.href")
    shot(page, screenshots, "14-reset-password")

    # When the new password is typed twice and sent, with the keyboard only
    new_password = f"second password {secrets.token_hex(4)}"
    page.keyboard.type(new_password)
    page.keyboard.press("Tab")
    expect(field(page, "Repeat the new password")).to_be_focused()
    page.keyboard.type(new_password)
    page.keyboard.press("Enter")

    # Then the user is signed in on the dashboard, the token in memory and a refresh cookie set
    expect_dashboard_of(page, user)
    assert refresh_cookie(page, runner)
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0

    # And after logging out, the old password is refused and the new one works
    page.get_by_role("button", name="Log out", exact=True).click()
    expect_login_screen(page, "You have been logged out.")
    log_in(page, runner, user.username, user.password)
    expect(page.locator("#login-error")).to_have_text("Invalid identifier or password.")
    log_in(page, runner, user.username, new_password)
    expect_dashboard_of(page, user)


def test_a_reset_link_works_only_once(runner: Runner, new_page: NewPage) -> None:
    # Given a user whose reset link has been used
    user = fresh_user()
    register(runner, user)
    link = ask_for_reset_link(runner, user)
    page = new_page()
    page.goto(link)
    expect_reset_screen(page, runner)
    set_new_password(page, f"second password {secrets.token_hex(4)}")
    expect_dashboard_of(page, user)

    # When the same link is opened again (another browser) and a password sent
    other = new_page()
    other.goto(link)
    expect_reset_screen(other, runner)
    set_new_password(other, f"third password {secrets.token_hex(4)}")

    # Then the API's message shows and focus goes to the way on: asking for a new link
    expect(other.get_by_role("alert").filter(has_text="code")).to_have_text("Incorrect code provided.")
    new_link = other.get_by_role("link", name="Request a new link")
    expect(new_link).to_be_focused()
    assert refresh_cookie(other, runner) is None

    # And it leads to the forgot password screen
    other.keyboard.press("Enter")
    expect(other.get_by_role("heading", name="Forgot your password?", level=1)).to_be_visible()
    expect(field(other, "Email")).to_be_focused()


def test_mismatched_passwords_are_refused_and_the_link_stays_valid(
    runner: Runner, new_page: NewPage, screenshots: Path
) -> None:
    # Given the new password screen opened from a user's mailed link
    user = fresh_user()
    register(runner, user)
    page = new_page()
    page.goto(ask_for_reset_link(runner, user))
    expect_reset_screen(page, runner)
    first = field(page, "New password")
    again = field(page, "Repeat the new password")

    # When the two passwords differ
    set_new_password(page, "one long password", "another long password")

    # Then the API's message shows in the alert, both fields are marked and emptied, and focus
    # is back on the first one
    alert = page.locator("#reset-error")
    expect(alert).to_have_text("Passwords do not match.")
    expect(alert).to_have_attribute("role", "alert")
    expect(first).to_be_focused()
    for password_input in (first, again):
        expect(password_input).to_have_attribute("aria-invalid", "true")
        expect(password_input).to_have_value("")
    shot(page, screenshots, "15-reset-password-mismatch")

    # When a password too short is sent twice
    set_new_password(page, "short")

    # Then the API's validation message shows and only the field it names is marked
    expect(alert).to_have_text(re.compile(r"^password: .*at least 8"))
    expect(first).to_be_focused()
    expect(first).to_have_attribute("aria-invalid", "true")
    expect(again).to_have_attribute("aria-invalid", "false")

    # And the refused attempts did not spend the code: a matching pair signs the user in
    set_new_password(page, "a long enough password")
    expect_dashboard_of(page, user)


def test_forgot_password_answers_the_same_for_an_unknown_address(runner: Runner, new_page: NewPage) -> None:
    # Given the forgot password screen, reached from the login screen with an address typed
    page = new_page()
    page.goto(runner.url + "/")
    expect_login_screen(page)
    unknown = f"nobody-{secrets.token_hex(4)}@example.com"
    field(page, "Username or email").fill(unknown)
    page.get_by_role("link", name="Forgot password?").click()
    email = field(page, "Email")
    expect(email).to_be_focused()
    expect(email).to_have_value(unknown)  # the address typed on the login screen is kept

    # When an address without an account is sent
    page.get_by_role("button", name="Send the link").click()

    # Then the answer is word for word the one an account gets: nothing tells them apart
    expect(page.locator("#forgot-status")).to_have_text(LINK_SENT)
    expect(page.locator("#forgot-error")).to_be_empty()

    # And an empty address is caught before any request, focus on the field
    email.fill("")
    page.get_by_role("button", name="Send the link").click()
    expect(page.locator("#forgot-error")).to_have_text("Enter your email address.")
    expect(email).to_be_focused()
    expect(email).to_have_attribute("aria-invalid", "true")


# --- registration and email confirmation ----------------------------------------------------


def fill_registration(page: Page, user: User) -> None:
    expect(page.get_by_role("heading", name="Create an account", level=1)).to_be_visible()
    expect(field(page, "Username")).to_be_focused()
    expect(field(page, "Password")).to_have_attribute("autocomplete", "new-password")
    expect(field(page, "Password")).to_have_attribute("type", "password")
    field(page, "Username").fill(user.username)
    field(page, "Email").fill(user.email)
    field(page, "Password").fill(user.password)
    page.get_by_role("button", name="Create account").click()


def test_registration_signs_in_at_once_without_email_confirmation(
    runner: Runner, new_page: NewPage, screenshots: Path
) -> None:
    # Given the login screen of a runner that needs no email confirmation
    page = new_page()
    page.goto(runner.url + "/")
    expect_login_screen(page)

    # When a new user follows "Create an account" and registers
    page.get_by_role("link", name="Create an account").click()
    user = fresh_user()
    shot(page, screenshots, "16-register")
    fill_registration(page, user)

    # Then they are signed in on the dashboard like after a login
    expect_dashboard_of(page, user)
    assert refresh_cookie(page, runner)

    # And registering the same name again is refused with the API's message, focus on the field
    page.get_by_role("button", name="Log out", exact=True).click()
    expect_login_screen(page, "You have been logged out.")
    page.get_by_role("link", name="Create an account").click()
    fill_registration(page, user)
    expect(page.locator("#register-error")).to_have_text("Email or Username are already taken.")
    expect(field(page, "Username")).to_be_focused()
    expect(field(page, "Username")).to_have_attribute("aria-invalid", "true")


def test_registration_with_email_confirmation_waits_for_the_mailed_link(
    confirming_runner: Runner, new_page: NewPage, screenshots: Path
) -> None:
    # Given the login screen of a runner with EMAIL_CONFIRMATION=true
    runner = confirming_runner
    page = new_page()
    page.goto(runner.url + "/")
    expect_login_screen(page)

    # When a new user registers
    page.get_by_role("link", name="Create an account").click()
    user = fresh_user()
    before = len(runner.outbox())
    fill_registration(page, user)

    # Then they are asked to check their mail, focus on the heading, and are not signed in
    expect(page.get_by_role("heading", name="Confirm your email address", level=1)).to_be_focused()
    expect(page.locator("#confirm-status")).to_have_text(
        f"Check your mail: we have sent a confirmation link to {user.email}."
    )
    assert refresh_cookie(page, runner) is None
    shot(page, screenshots, "17-check-your-mail")
    message = runner.wait_for_mail(user.email, before)
    link = mailed_link(message)
    assert link.startswith(runner.url + "/api/auth/email-confirmation?confirmation=")

    # When they try to log in before following it (with their address)
    log_in(page, runner, user.email, user.password)

    # Then the API's message shows, with a way to have the link sent again
    expect(page.locator("#login-error")).to_have_text("Your account email is not confirmed.")
    expect(field(page, "Password")).not_to_have_attribute("aria-invalid", "true")  # it was right
    resend = page.get_by_role("link", name="Send the confirmation link again")
    expect(resend).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Confirm your email address", level=1)).to_be_visible()
    expect(field(page, "Email")).to_be_focused()
    expect(field(page, "Email")).to_have_value(user.email)
    page.get_by_role("button", name="Send the link again").click()
    expect(page.locator("#confirm-status")).to_have_text(
        f"If {user.email} belongs to an account that is not confirmed yet, we have sent it a new link."
    )
    expect(page.get_by_role("button", name="Send the link again")).to_be_focused()

    # When the mailed link is opened (the API confirms, then redirects to ?emailConfirmed=true)
    page.goto(link)

    # Then the login screen says so, and the query is off the address bar
    expect_login_screen(page, EMAIL_CONFIRMED)
    expect(page).to_have_url(runner.url + "/")
    shot(page, screenshots, "18-email-confirmed")

    # And logging in works now, the account shown as confirmed
    field(page, "Username or email").fill(user.username)
    field(page, "Password").fill(user.password)
    page.get_by_role("button", name="Log in").click()
    expect_dashboard_of(page, user)
    expect(page.locator('#account dd[data-field="confirmed"]')).to_have_text("Yes")
