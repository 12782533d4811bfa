"""Settings: durations in seconds or the tutorial's style, aliases, and fail-fast errors naming the variable."""

import pytest

from authlayer.config import ConfigError, load_settings, parse_duration

BASE = {"USERS_TABLE": "Users", "SESSIONS_TABLE": "Sessions"}


@pytest.mark.parametrize(("raw", "seconds"), [("900", 900), ("360s", 360), ("15m", 900), ("1h", 3600), ("2d", 172800)])
def test_durations_accept_seconds_and_tutorial_style(raw, seconds):
    assert parse_duration("X", raw) == seconds


def test_defaults_follow_the_design():
    # Given only the table names / When loaded / Then the design's defaults apply
    s = load_settings(BASE)
    assert (s.access_token_ttl, s.refresh_idle_ttl, s.refresh_absolute_ttl, s.refresh_reuse_grace) == (900, 172800, 2592000, 10)
    assert s.registration_enabled and s.cookie_secure and s.cookie_samesite == "Strict"
    assert s.cookie_name == "__Host-refreshToken" and s.cookie_path == "/"
    assert s.sessions_user_index == "by-user-keys"


def test_tutorial_names_are_aliases_and_design_names_win():
    s = load_settings({**BASE, "JWT_SECRET_EXPIRES": "360s", "REFRESH_TOKEN_EXPIRES": "1d"})
    assert (s.access_token_ttl, s.refresh_idle_ttl) == (360, 86400)
    s = load_settings({**BASE, "JWT_SECRET_EXPIRES": "360s", "ACCESS_TOKEN_TTL": "20s"})
    assert s.access_token_ttl == 20


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ACCESS_TOKEN_TTL": "15 minutes"}, "ACCESS_TOKEN_TTL"),
        ({"JWT_SECRET_EXPIRES": "soon"}, "JWT_SECRET_EXPIRES"),
        ({"REFRESH_REUSE_GRACE": "61s"}, "REFRESH_REUSE_GRACE"),
        ({"REFRESH_IDLE_TTL": "-1"}, "REFRESH_IDLE_TTL"),
        ({"COOKIE_SECURE": "maybe"}, "COOKIE_SECURE"),
        ({"COOKIE_SAMESITE": "sometimes"}, "COOKIE_SAMESITE"),
        ({"REGISTRATION_ENABLED": "2"}, "REGISTRATION_ENABLED"),
        ({"ALLOWED_ORIGINS": "*"}, "ALLOWED_ORIGINS"),
        ({"ALLOWED_ORIGINS": "https://a.example,null"}, "ALLOWED_ORIGINS"),
        ({"COOKIE_SAMESITE": "None", "COOKIE_SECURE": "false"}, "COOKIE_SAMESITE"),
        ({"USERS_TABLE": ""}, "USERS_TABLE"),
        ({"SESSIONS_USER_INDEX": "by-email"}, "SESSIONS_USER_INDEX"),
    ],
)
def test_a_bad_value_stops_start_with_the_variable_named(env, named):
    with pytest.raises(ConfigError, match=named):
        load_settings({**BASE, **env})


def test_plain_http_cookie_has_no_secure_prefix():
    s = load_settings({**BASE, "COOKIE_SECURE": "false", "ALLOWED_ORIGINS": "http://localhost:5173, http://127.0.0.1:5173/"})
    assert s.cookie_name == "refreshToken" and s.cookie_path == "/api"
    assert s.allowed_origins == ("http://localhost:5173", "http://127.0.0.1:5173")


@pytest.mark.parametrize("origin", ["http://app.example", "http://10.0.0.5:8080", "http://localhost.evil.example"])
def test_asvs5_12_1_1_r2_13_plain_http_origins_are_refused_with_secure_cookies(origin):
    with pytest.raises(ConfigError, match="ALLOWED_ORIGINS"):
        load_settings({**BASE, "ALLOWED_ORIGINS": f"https://app.example,{origin}"})
    assert load_settings({**BASE, "ALLOWED_ORIGINS": origin, "COOKIE_SECURE": "false"}).allowed_origins == (origin,)


@pytest.mark.parametrize("origin", ["http://localhost:5173", "http://127.0.0.1:3000", "http://[::1]:8080", "http://app.localhost"])
def test_r2_13_loopback_http_origins_stay_allowed_with_secure_cookies(origin):
    assert load_settings({**BASE, "ALLOWED_ORIGINS": origin}).allowed_origins == (origin,)
