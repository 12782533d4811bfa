"""The texts of the recovery mails: subject, plain text and HTML (links escaped in the HTML)."""

from __future__ import annotations

from html import escape
from urllib.parse import quote, urlencode


def reset_link(reset_password_url: str, code: str) -> str:
    """Strapi's link: RESET_PASSWORD_URL?code=<code>."""
    return f"{reset_password_url}?{urlencode({'code': code})}"


def confirmation_link(api_url: str, token: str) -> str:
    """Strapi's link: <the API's origin>/api/auth/email-confirmation?confirmation=<token>."""
    return f"{api_url.rstrip('/')}/api/auth/email-confirmation?confirmation={quote(token, safe='')}"


def _html(greeting: str, lines: list[str], link: str, action: str) -> str:
    body = "".join(f"<p>{escape(line)}</p>" for line in lines)
    return (
        '<!doctype html><html lang="en"><body>'
        f"<p>{escape(greeting)}</p>{body}"
        f'<p><a href="{escape(link, quote=True)}">{escape(action)}</a></p>'
        f"<p>{escape(link)}</p></body></html>"
    )


def reset_password(username: str, link: str, ttl_minutes: int) -> tuple[str, str, str]:
    lines = [
        "Somebody asked to reset the password of your account.",
        f"The link below works once, within {ttl_minutes} minutes. If you did not ask, ignore this mail:"
        " your password stays as it is.",
    ]
    text = f"Hello {username},\n\n" + "\n".join(lines) + f"\n\n{link}\n"
    return "Reset password", text, _html(f"Hello {username},", lines, link, "Reset your password")


def confirm_email(username: str, link: str, ttl_hours: int) -> tuple[str, str, str]:
    lines = [
        "Thank you for registering. Please confirm your email address.",
        f"The link below works once, within {ttl_hours} hours.",
    ]
    text = f"Hello {username},\n\n" + "\n".join(lines) + f"\n\n{link}\n"
    return "Account confirmation", text, _html(f"Hello {username},", lines, link, "Confirm your email address")
