"""Secrets never reach the logs: every flow runs with canary passwords, and its tokens, cookies
and keys are searched for in every log line and metric (ASVS 4.0.3 7.1.1, ASVS 5.0 16.2.5)."""

import logging

from freezegun import freeze_time

from tests.conftest import ROOT, cookie_value, private_key_pem

CANARY = "CANARY-pw-7f3a9c"
NEW_CANARY = "CANARY-new-pw-51d2e8"


def test_asvs5_16_2_5_no_password_token_cookie_or_key_in_any_log_line(api, aws, caplog, capsys):
    # Our logger at its most verbose; libraries at INFO (botocore's DEBUG dumps raw responses,
    # including the SSM key, and is never on in a deployment).
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="sam-refresh-auth")
    secrets: list[str] = [CANARY, NEW_CANARY, private_key_pem(0).splitlines()[1]]
    with freeze_time("2026-11-29 12:00:00") as clock:
        # register, log in (cookie and body mode), fail logins, refresh, replay in grace, reuse
        reg = api.call("register", "register.json", {"username": "canary", "email": "canary@example.com", "password": CANARY})
        body_mode = api.login("canary", CANARY, headers={"x-refresh-token-transport": "body"})
        for _ in range(6):
            api.login("canary", CANARY + "-wrong")
            api.login("nobody", CANARY)
        clock.tick(61)
        login = api.login("canary@example.com", CANARY)
        parent = cookie_value(login)
        child = api.refresh_cookie(parent)
        grace = api.refresh_cookie(parent)
        clock.tick(30)
        reuse = api.refresh_cookie(parent)
        second = api.login("canary", CANARY)
        body_refresh = api.refresh_body(body_mode.body["refreshToken"])
        sessions = api.sessions(second.body["jwt"])
        change = api.call("change_password", "change-password.json",
                          {"currentPassword": CANARY, "password": NEW_CANARY, "passwordConfirmation": NEW_CANARY},
                          headers={"authorization": f"Bearer {second.body['jwt']}"})
        logout = api.logout(cookie_value(change), everywhere=True)
        api.me("garbage." + CANARY)
    answers = [reg, body_mode, login, child, grace, reuse, second, body_refresh, sessions, change, logout]
    assert [a.status for a in answers] == [200, 200, 200, 200, 200, 401, 200, 200, 200, 200, 204]
    for answer in answers:
        if answer.body and "jwt" in answer.body:
            secrets.append(answer.body["jwt"])
            secrets.append(answer.body["jwt"].split(".")[2])
        if answer.body and "refreshToken" in answer.body:
            secrets.append(answer.body["refreshToken"])
        secrets.extend(c.split(";")[0].split("=", 1)[1] for c in answer.cookies if "=;" not in c)
    secrets.extend(t.split(".")[1] for t in (parent,))
    logged = "\n".join(r.getMessage() + " " + str(r.__dict__) for r in caplog.records) + capsys.readouterr().out
    # Auth events are logged (ASVS 5.0 16.3.1) with the request's correlation id
    for event in ("login succeeded", "login failed", "refresh token rotated", "refresh grace replay",
                  "refresh token reuse detected", "logout", "login throttled"):
        assert event in logged, event
    from authlayer.observability import logger

    assert logger.get_correlation_id() == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"  # the event's requestId
    for secret in secrets:
        assert secret and secret not in logged, f"a secret reached the logs: {secret[:12]}..."


def test_powertools_event_logging_stays_off():
    # log_event would write whole requests (cookies, passwords) to CloudWatch.
    template = (ROOT / "template.yaml").read_text()
    assert "POWERTOOLS_LOGGER_LOG_EVENT" not in template or 'POWERTOOLS_LOGGER_LOG_EVENT: "false"' in template
