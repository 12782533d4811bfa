"""The web demo (web/) in headless Chromium against the local runner: login, dashboard,
the "Token expired" dialog, silent restore on reload, ending sessions and logging out.

Each test saves screenshots of the screens it reaches into test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import ACCESS_TOKEN_TTL

playwright = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
expect = playwright.expect

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

    from tests.e2e.conftest import Runner

pytestmark = pytest.mark.browser

COOKIE = "refreshToken"  # COOKIE_SECURE=false locally: no __Host- prefix, Path=/api
EXPIRY_WAIT_MS = (ACCESS_TOKEN_TTL + 10) * 1000
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
PHONE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"  # noqa: E501

NewPage = Callable[..., "Page"]


# --- helpers ---------------------------------------------------------------------------------


def shot(page: Page, folder: Path, name: str) -> None:
    page.screenshot(path=folder / f"{name}.png", full_page=True)


def login_field(page: Page, label: str) -> Locator:
    """A field of the login screen (the other screens, hidden, have a "Password" field too)."""
    return page.locator("#login-screen").get_by_label(label, exact=True)


def open_app(page: Page, runner: Runner) -> None:
    page.goto(runner.url + "/")


def expect_login_screen(page: Page, message: str | None = None) -> None:
    expect(page.get_by_role("heading", name="Log in", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_hidden()
    # Focus moves to the first field when the login screen appears.
    expect(page.get_by_label("Username or email")).to_be_focused()
    if message is not None:
        expect(page.locator("#login-status")).to_have_text(message)


def expect_dashboard(page: Page) -> None:
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    expect(page.locator('#account dd[data-field="username"]')).to_have_text("demo")
    expect(page.locator("#sessions li[data-current=true]")).to_have_count(1)


def log_in(page: Page, runner: Runner, password: str | None = None) -> None:
    page.bring_to_front()
    open_app(page, runner)
    expect_login_screen(page)
    page.get_by_label("Username or email").fill("demo")
    login_field(page, "Password").fill(password or runner.demo_password)
    page.get_by_role("button", name="Log in").click()
    expect_dashboard(page)


def refresh_cookie(page: Page, runner: Runner) -> str | None:
    values = [c["value"] for c in page.context.cookies(runner.url + "/api/") if c["name"] == COOKIE]
    return values[0] if values else None


def wait_until_expired(page: Page) -> None:
    """The countdown (the token's exp read in the browser) reaches zero."""
    expect(page.locator("#countdown")).to_have_attribute("data-state", "expired", timeout=EXPIRY_WAIT_MS)


def open_expired_dialog(page: Page) -> None:
    """Make a call with the expired token: the app asks before anything else happens."""
    page.get_by_role("button", name="Reload data").click()
    dialog = page.get_by_role("dialog", name="Token expired")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Do you want to refresh your token?")
    expect(dialog.get_by_role("button", name="Yes")).to_be_focused()


def web_storage(page: Page) -> dict[str, int]:
    return page.evaluate("({local: localStorage.length, session: sessionStorage.length})")


# --- login ------------------------------------------------------------------------------------


def test_login_with_a_wrong_then_the_right_password(
    runner: Runner, new_page: NewPage, screenshots: Path
) -> None:
    # Given the login screen (no refresh cookie yet)
    page = new_page()
    open_app(page, runner)
    expect_login_screen(page, "")
    password = login_field(page, "Password")
    expect(password).to_have_attribute("type", "password")
    expect(password).to_have_attribute("autocomplete", "current-password")
    expect(page.get_by_label("Username or email")).to_have_attribute("autocomplete", "username")
    shot(page, screenshots, "01-login")

    # When the demo user types a wrong password, with the keyboard only
    page.evaluate(
        """() => {
            const button = document.getElementById('login-button');
            window.__loginButtonWasDisabled = false;
            new MutationObserver(() => {
                if (button.getAttribute('aria-disabled') === 'true') window.__loginButtonWasDisabled = true;
            })
                .observe(button, { attributes: true });
        }"""
    )
    page.keyboard.type("demo")
    page.keyboard.press("Tab")
    expect(password).to_be_focused()
    page.keyboard.type("not the password")
    page.keyboard.press("Enter")

    # Then the API's message shows in an alert, the password field has focus, and the button
    # was marked disabled (aria-disabled: it stays focusable) while the request was in flight
    alert = page.get_by_role("alert").filter(has_text="Invalid")
    expect(alert).to_have_text("Invalid identifier or password.")
    expect(password).to_be_focused()
    expect(password).to_have_value("")
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("button", name="Log in")).to_be_enabled()
    assert page.evaluate("window.__loginButtonWasDisabled") is True
    shot(page, screenshots, "02-login-error")

    # When they type the right one
    page.keyboard.type(runner.demo_password)
    page.keyboard.press("Enter")

    # Then the dashboard shows, with focus on its heading, and the refresh cookie is httpOnly
    expect_dashboard(page)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_focused()
    expect(page).to_have_title(re.compile("^Dashboard"))
    cookies = [c for c in page.context.cookies(runner.url + "/api/") if c["name"] == COOKIE]
    assert len(cookies) == 1
    assert cookies[0]["httpOnly"] is True
    assert cookies[0]["path"] == "/api"
    assert page.evaluate("document.cookie") == ""  # the page cannot read it


def test_empty_fields_are_caught_before_any_request(runner: Runner, new_page: NewPage) -> None:
    # Given the login screen
    page = new_page()
    open_app(page, runner)
    expect_login_screen(page)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    # When the form is sent empty
    page.get_by_role("button", name="Log in").click()

    # Then a message says what is missing, focus goes to that field, and nothing was sent
    expect(page.get_by_role("alert")).to_have_text("Enter your username or email.")
    expect(page.get_by_label("Username or email")).to_be_focused()
    assert [url for url in requests if "/api/" in url] == []


def test_too_many_attempts_show_the_rate_limit_message(runner: Runner, new_page: NewPage) -> None:
    # Given a user of its own (so the demo user is never locked) and the login screen
    username = f"u{secrets.token_hex(4)}"
    answer = runner.request(
        "POST",
        "/api/auth/local/register",
        {"username": username, "email": f"{username}@example.com", "password": "a long enough password 1"},
    )
    assert answer.status == 200, answer.raw
    page = new_page()
    open_app(page, runner)
    expect_login_screen(page)

    # When wrong passwords are sent until the API answers 429
    alert = page.locator("#login-error")
    for attempt in range(8):
        page.get_by_label("Username or email").fill(username)
        login_field(page, "Password").fill(f"wrong {attempt}")
        page.get_by_role("button", name="Log in").click()
        expect(alert).not_to_be_empty()
        if "Try again in" in alert.inner_text():
            break
        expect(alert).to_have_text("Invalid identifier or password.")
        page.evaluate("document.getElementById('login-error').textContent = ''")

    # Then the API's message shows, with the Retry-After wait in seconds
    expect(alert).to_have_text(re.compile(r"^Too many login attempts.* Try again in \d+ seconds?\.$"))


# --- dashboard --------------------------------------------------------------------------------


def test_dashboard_shows_the_user_the_countdown_and_this_session(
    runner: Runner, new_page: NewPage, screenshots: Path
) -> None:
    # Given the demo user logged in
    page = new_page()
    log_in(page, runner)

    # Then GET /api/users/me is shown
    for field, value in {
        "username": "demo",
        "email": "demo@example.com",
        "confirmed": "Yes",
        "blocked": "No",
        "provider": "local",
    }.items():
        expect(page.locator(f'#account dd[data-field="{field}"]')).to_have_text(value)
    # and the countdown to the token's exp (15 minutes on this runner)
    expect(page.locator("#countdown")).to_have_text(re.compile(r"^Expires in 1[45]:\d\d \(at .+\)\.$"))
    expect(page.get_by_role("timer")).to_be_visible()
    # and this session is in the list, marked, without a button to end it
    current = page.locator("#sessions li[data-current=true]")
    expect(current).to_contain_text("This device")
    expect(current).to_contain_text("HeadlessChrome")
    expect(current.get_by_role("button")).to_have_count(0)
    # and the access token is in memory only
    assert web_storage(page) == {"local": 0, "session": 0}
    shot(page, screenshots, "03-dashboard")


def test_dashboard_shows_what_your_api_sees_through_both_authorizers(
    runner: Runner, new_page: NewPage, screenshots: Path
) -> None:
    # Given the demo user logged in
    page = new_page()
    log_in(page, runner)
    current = page.locator("#sessions li[data-current=true]")
    session_id = current.get_attribute("data-session-id")

    # Then the dashboard shows what GET /api/whoami (JWT authorizer) and GET /api/whoami/live
    # (revocation-aware authorizer) passed to the example function: this user, this session,
    # this runner as the issuer
    for view, authorizer in (("#whoami-jwt", "JWT"), ("#whoami-live", "Revocation-aware (Lambda)")):
        expect(page.locator(f'{view} dd[data-field="authorizer"]')).to_have_text(authorizer)
        expect(page.locator(f'{view} dd[data-field="sid"]')).to_have_text(str(session_id))
        expect(page.locator(f'{view} dd[data-field="iss"]')).to_have_text(runner.url)
        expect(page.locator(f'{view} dd[data-field="aud"]')).to_have_text("sam-refresh-auth")
        expect(page.locator(f'{view} dd[data-field="sub"]')).to_have_text(re.compile(r"^\S+$"))
    shot(page, screenshots, "03b-what-your-api-sees")


def test_dashboard_on_a_phone_width_screen(runner: Runner, new_page: NewPage, screenshots: Path) -> None:
    # Given a phone-sized window
    page = new_page(**PHONE, user_agent=PHONE_UA)
    open_app(page, runner)
    expect_login_screen(page)
    shot(page, screenshots, "04-login-phone")

    # When the demo user logs in
    log_in(page, runner)

    # Then nothing is wider than the screen
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    expect(page.locator("#sessions li[data-current=true]")).to_contain_text("Safari on iOS")
    shot(page, screenshots, "05-dashboard-phone")


# --- the expired token ----------------------------------------------------------------------


def test_expired_token_yes_refreshes_and_rotates_the_cookie(
    short_ttl_runner: Runner, new_page: NewPage, screenshots: Path
) -> None:
    # Given the demo user logged in with a short-lived access token
    runner = short_ttl_runner
    page = new_page()
    log_in(page, runner)
    cookie_before = refresh_cookie(page, runner)
    assert cookie_before

    # When the token expires and a call is made
    wait_until_expired(page)
    expect(page.locator("#countdown")).to_have_text(re.compile(r"^Expired at "))
    # (every time focus leaves an element for nothing, i.e. falls to the page, is recorded)
    page.evaluate(
        """() => {
            window.__focusDropped = [];
            document.addEventListener('focusout', (e) => {
                if (e.relatedTarget === null) window.__focusDropped.push(e.target.id || e.target.tagName);
            }, true);
        }"""
    )
    open_expired_dialog(page)
    shot(page, screenshots, "06-token-expired-dialog")

    # And the user answers Yes (Enter on the focused button)
    page.keyboard.press("Enter")

    # Then the dialog closes, the call went through with a new token, and the cookie rotated
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(page.locator("#countdown")).to_have_attribute("data-state", "valid")
    expect(page.locator("#dashboard-status")).to_have_text("Data reloaded.")
    expect(page.get_by_role("button", name="Reload data")).to_be_focused()
    # And keyboard focus never fell to the page on the way (WAI-ARIA APG, modal dialog: focus
    # returns to the invoking control; a disabled, unfocusable busy button would lose it)
    assert page.evaluate("window.__focusDropped") == []
    expect_dashboard(page)
    cookie_after = refresh_cookie(page, runner)
    assert cookie_after
    assert cookie_after != cookie_before
    shot(page, screenshots, "07-dashboard-after-refresh")

    # And the replaced cookie no longer works once the grace window is over... (not waited for
    # here: the API's tests cover reuse); the new one does: a reload restores the session
    page.reload()
    expect_dashboard(page)


def test_expired_token_no_logs_out(short_ttl_runner: Runner, new_page: NewPage, screenshots: Path) -> None:
    # Given the "Token expired" dialog
    runner = short_ttl_runner
    page = new_page()
    log_in(page, runner)
    wait_until_expired(page)
    open_expired_dialog(page)

    # When the user answers No
    page.get_by_role("dialog").get_by_role("button", name="No").click()

    # Then they are logged out (the cookie is gone) and on the login screen, told why
    expect_login_screen(page, "You chose not to refresh your token, so you have been logged out.")
    expect(page.get_by_role("dialog")).to_be_hidden()
    assert refresh_cookie(page, runner) is None
    shot(page, screenshots, "08-login-after-no")

    # And a reload does not sign them in again
    page.reload()
    expect_login_screen(page, "")


def test_escape_in_the_dialog_counts_as_no(short_ttl_runner: Runner, new_page: NewPage) -> None:
    # Given the "Token expired" dialog
    runner = short_ttl_runner
    page = new_page()
    log_in(page, runner)
    wait_until_expired(page)
    open_expired_dialog(page)

    # When the user presses Escape
    page.keyboard.press("Escape")

    # Then it is the same as No
    expect_login_screen(page, "You chose not to refresh your token, so you have been logged out.")
    assert refresh_cookie(page, runner) is None


def test_a_refresh_that_fails_ends_the_session(short_ttl_runner: Runner, new_page: NewPage) -> None:
    # Given the demo user logged in here, whose sessions are then all revoked from elsewhere
    # (an HTTP client logs in and logs out everywhere)
    runner = short_ttl_runner
    page = new_page()
    log_in(page, runner)
    credentials = {"identifier": "demo", "password": runner.demo_password}
    answer = runner.request("POST", "/api/auth/local", credentials)
    assert answer.status == 200, answer.raw
    cookie = answer.cookie(COOKIE)
    logout = runner.request("POST", "/api/auth/logout", {"scope": "all"}, {"Cookie": f"{COOKIE}={cookie}"})
    assert logout.status == 204, logout.raw

    # When the token expires and the user answers Yes
    wait_until_expired(page)
    open_expired_dialog(page)
    page.get_by_role("dialog").get_by_role("button", name="Yes").click()

    # Then the refresh is refused (401) and the login screen says the session ended
    expect_login_screen(page, "Your session has ended. Please log in again.")
    expect(page.get_by_role("dialog")).to_be_hidden()


# --- reload, other sessions, log out everywhere ---------------------------------------------


def test_reload_restores_the_session_silently(runner: Runner, new_page: NewPage) -> None:
    # Given the demo user logged in
    page = new_page()
    log_in(page, runner)
    cookie_before = refresh_cookie(page, runner)

    # When the page is reloaded (the access token in memory is gone)
    page.reload()

    # Then the refresh cookie brings the dashboard back without the login screen, rotated
    expect_dashboard(page)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_focused()
    assert refresh_cookie(page, runner) not in (None, cookie_before)
    assert web_storage(page) == {"local": 0, "session": 0}


def test_end_another_session_from_the_list(runner: Runner, new_page: NewPage, screenshots: Path) -> None:
    # Given the demo user logged in here and on a phone (another browser context, another jar)
    page = new_page()
    log_in(page, runner)
    marker = f"Phone/{secrets.token_hex(3)}"
    phone = new_page(**PHONE, user_agent=f"{PHONE_UA} {marker}")
    log_in(phone, runner)

    # When this page reloads its data, the phone's session is listed, and ended here
    page.bring_to_front()
    page.get_by_role("button", name="Reload data").click()
    expect(page.locator("#dashboard-status")).to_have_text("Data reloaded.")
    other = page.locator("#sessions li", has_text=marker)
    expect(other).to_have_count(1)
    expect(other).to_have_attribute("data-current", "false")
    shot(page, screenshots, "09-dashboard-two-sessions")
    other.get_by_role("button", name=re.compile("^End session")).click()

    # Then it leaves the list, the status says so, and focus is on the list's heading
    expect(other).to_have_count(0)
    expect(page.locator("#dashboard-status")).to_have_text("The other session has ended.")
    expect(page.get_by_role("heading", name="Active sessions")).to_be_focused()
    expect(page.locator("#sessions li[data-current=true]")).to_have_count(1)
    shot(page, screenshots, "10-session-ended")

    # And the phone's next call is refused although its access token has not expired
    phone.bring_to_front()  # one focused window at a time, as on a desktop
    phone.get_by_role("button", name="Reload data").click()
    expect_login_screen(phone, "Your session has ended. Please log in again.")
    shot(phone, screenshots, "11-phone-session-ended")
    # and its refresh cookie is refused too
    phone.reload()
    expect_login_screen(phone, "Your session has ended. Please log in again.")


def test_log_out_and_log_out_everywhere(runner: Runner, new_page: NewPage, screenshots: Path) -> None:
    # Given the demo user logged in on two devices
    page = new_page()
    log_in(page, runner)
    other = new_page()
    log_in(other, runner)

    # When the first logs out everywhere
    page.bring_to_front()
    page.get_by_role("button", name="Log out everywhere").click()

    # Then it is on the login screen, and the other device's session ended too
    expect_login_screen(page, "You have been logged out on every device.")
    assert refresh_cookie(page, runner) is None
    shot(page, screenshots, "12-logged-out-everywhere")
    other.bring_to_front()
    other.reload()
    expect_login_screen(other, "Your session has ended. Please log in again.")

    # And a plain log out ends just that session and clears its cookie
    page.bring_to_front()
    log_in(page, runner)
    page.get_by_role("button", name="Log out", exact=True).click()
    expect_login_screen(page, "You have been logged out.")
    assert refresh_cookie(page, runner) is None
    page.reload()
    expect_login_screen(page, "")
