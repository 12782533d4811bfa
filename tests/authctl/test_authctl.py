"""authctl, the operator CLI: driven in-process through ``authctl.cli.main`` against moto.

Operator actions must reach the running service: a blocked user's next refresh fails, a rotated
key keeps old tokens verifying, an imported Strapi user logs in and gets an argon2id hash.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from typing import Any

import bcrypt
import jwt
import pytest

from authctl import target
from authctl.cli import main
from tests.conftest import DEMO_PASSWORD, ISSUER, JWKS_PARAMETER, KEY_PARAMETER, cookie_value
from tests.integration.recovery_helpers import code_from, queue_url, run_mailer, sent_mail

TARGET = [
    "--users-table",
    "UsersTable",
    "--sessions-table",
    "SessionsTable",
    "--key-parameter",
    KEY_PARAMETER,
]
NEW_PASSWORD = "a new operator-set passphrase"
STRAPI_PASSWORD = "strapi password 1"
MAIL = ["--api-url", ISSUER]  # the queue: MAIL_QUEUE_URL of the aws fixture (as in the functions)
# What Strapi v4 stores: crypto.randomBytes(64) and randomBytes(20) as hex, in plain text.
STRAPI_RESET_TOKEN = "9f" * 64
STRAPI_CONFIRMATION_TOKEN = "c0" * 20


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def authctl(aws, capsys, monkeypatch):
    """Run `authctl ARGS... <target names>`; ``stdin`` feeds --password-stdin."""

    def run(*args: str, stdin: str | None = None, target_args: list[str] = TARGET) -> Run:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin or ""))
        capsys.readouterr()
        code = main([*args, *target_args])
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return run


def bcrypt_hash(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()


def strapi_user(strapi_id: int = 7, username: str = "strapi_user", email: str = "Strapi.User@example.com", **extra):
    """One row as Strapi's users-permissions export has it (bcryptjs hash, camelCase timestamps)."""
    return {
        "id": strapi_id,
        "username": username,
        "email": email,
        "provider": "local",
        "password": bcrypt_hash(STRAPI_PASSWORD),
        "resetPasswordToken": None,
        "confirmationToken": None,
        "confirmed": True,
        "blocked": False,
        "createdAt": "2023-05-01T10:00:00.000Z",
        "updatedAt": "2024-02-03T04:05:06.789Z",
        **extra,
    }


def write_export(tmp_path, document) -> str:
    path = tmp_path / "users.json"
    path.write_text(json.dumps(document))
    return str(path)


def stored_hash(aws, user_id: str) -> str:
    item = aws["dynamodb"].get_item(TableName="UsersTable", Key={"pk": {"S": f"USER#{user_id}"}})["Item"]
    return item["password_hash"]["S"]


# --- users -----------------------------------------------------------------------------------


def test_users_create_reads_the_password_from_stdin_and_the_user_can_log_in(authctl, api):
    # Given no users / When an operator creates one, the password piped in
    run = authctl(
        "users",
        "create",
        "alice",
        "Alice@Example.com",
        "--json",
        "--password-stdin",
        stdin="alice's passphrase\n",
    )

    # Then the sanitized user is printed (no hash) and the user logs in with that password
    assert run.code == 0, run.err
    assert run.json["username"] == "alice" and run.json["email"] == "alice@example.com"
    assert "$argon2" not in run.out and "passphrase" not in run.out
    assert api.login("alice", "alice's passphrase").status == 200


def test_users_create_prompts_twice_without_echo(authctl, api, monkeypatch):
    # Given an operator at a terminal typing the same password twice
    typed = iter(["typed passphrase", "typed passphrase"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(typed))

    # When creating a user without --password-stdin
    run = authctl("users", "create", "bob", "bob@example.com")

    # Then the user exists with that password, and the answer is readable text
    assert run.code == 0, run.err
    assert "created user bob" in run.out
    assert api.login("bob", "typed passphrase").status == 200


def test_users_create_refuses_mismatched_prompts(authctl, monkeypatch):
    typed = iter(["first passphrase", "other passphrase"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(typed))
    run = authctl("users", "create", "bob", "bob@example.com")
    assert run.code == 1 and "do not match" in run.err


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["carol", "carol@example.com"], "short\n", "at least 8 characters"),
        (["carol", "carol@example.com"], "", "stdin is empty"),
        (["ca@rol", "carol@example.com"], "long enough pw\n", "username"),
        (["carol", "not-an-email"], "long enough pw\n", "email"),
        (["demo", "other@example.com"], "long enough pw\n", "already taken"),
        (["other", "DEMO@example.com"], "long enough pw\n", "already taken"),
    ],
)
def test_users_create_refuses_bad_input_with_exit_1(authctl, demo_user, args, stdin, message):
    run = authctl("users", "create", *args, "--password-stdin", stdin=stdin)
    assert run.code == 1
    assert message in run.err
    assert run.out == ""


def test_users_list_prints_aligned_columns_and_json(authctl, demo_user):
    # Given two users
    authctl("users", "create", "alice", "alice@example.com", "--password-stdin", stdin="alice passphrase\n")

    # When listed for a terminal
    run = authctl("users", "list")

    # Then one header and one line per user, columns aligned, no hashes
    assert run.code == 0
    header, *lines = run.out.splitlines()
    assert header.split() == ["ID", "USERNAME", "EMAIL", "CONFIRMED", "BLOCKED", "CREATED"]
    assert len(lines) == 2 and {line.split()[1] for line in lines} == {"demo", "alice"}
    assert len({line.index(line.split()[1]) for line in [header, *lines]}) == 1  # USERNAME column aligned
    assert "$argon2" not in run.out

    # And as JSON: Strapi's sanitized users
    users = authctl("users", "list", "--json").json
    assert {u["username"] for u in users} == {"demo", "alice"}
    assert all(
        set(u) == {"id", "username", "email", "provider", "confirmed", "blocked", "createdAt", "updatedAt"}
        for u in users
    )


@pytest.mark.parametrize("name", ["demo", "DEMO", "demo@example.com", "Demo@Example.COM", "<id>"])
def test_users_show_finds_a_user_by_username_email_or_id(authctl, demo_user, name):
    run = authctl("users", "show", demo_user.id if name == "<id>" else name, "--json")
    assert run.code == 0
    assert run.json["id"] == demo_user.id
    assert run.json["password"] == "argon2id"  # the scheme, never the hash
    assert run.json["activeSessions"] == 0


def test_unknown_user_exits_1_with_a_message(authctl, demo_user):
    for command in (
        ["users", "show"],
        ["users", "block"],
        ["users", "delete", "--yes"],
        ["sessions", "list"],
    ):
        run = authctl(*command, "nobody")
        assert run.code == 1
        assert "user 'nobody' not found" in run.err
        assert run.out == ""


def test_users_block_makes_the_next_refresh_fail_with_401(authctl, api, demo_user):
    # Given the demo user logged in
    login = api.login()

    # When an operator blocks them
    run = authctl("users", "block", "demo")

    # Then their session ended at once: the next refresh is 401 and login is refused
    assert run.code == 0
    assert "blocked demo" in run.out and "1 session(s) ended" in run.out
    assert api.refresh_cookie(cookie_value(login)).status == 401
    refused = api.login()
    assert refused.status == 400 and refused.error_name == "ApplicationError"

    # When unblocked / Then they can log in again (the old session stays ended)
    assert authctl("users", "unblock", "demo", "--json").json["blocked"] is False
    assert api.login().status == 200
    assert api.refresh_cookie(cookie_value(login)).status == 401


def test_users_delete_needs_yes_without_a_terminal(authctl, api, demo_user):
    run = authctl("users", "delete", "demo")
    assert run.code == 1 and "--yes" in run.err
    assert api.login().status == 200  # nothing changed


def test_users_delete_ends_sessions_and_frees_the_names(authctl, api, demo_user):
    login = api.login()
    run = authctl("users", "delete", "demo@example.com", "--yes", "--json")
    assert run.code == 0 and run.json == {
        "id": demo_user.id,
        "username": "demo",
        "deleted": True,
        "sessionsEnded": 1,
    }
    assert api.refresh_cookie(cookie_value(login)).status == 401
    assert authctl("users", "show", "demo").code == 1
    created = authctl("users", "create", "demo", "demo@example.com", "--password-stdin", stdin="long enough pw\n")
    assert created.code == 0


def test_users_set_password_ends_sessions_and_replaces_the_password(authctl, api, demo_user):
    login = api.login()
    run = authctl("users", "set-password", "demo", "--password-stdin", stdin=NEW_PASSWORD + "\n")
    assert run.code == 0 and "1 session(s) ended" in run.out
    assert NEW_PASSWORD not in run.out + run.err
    assert api.refresh_cookie(cookie_value(login)).status == 401
    assert api.login(password=DEMO_PASSWORD).status == 400
    assert api.login(password=NEW_PASSWORD).status == 200


def test_password_is_kept_exactly_as_typed_apart_from_the_line_end(authctl, api, demo_user):
    authctl("users", "set-password", "demo", "--password-stdin", stdin="  spaced out  \r\n")
    assert api.login(password="  spaced out  ").status == 200


def test_users_confirm_lets_an_unconfirmed_user_log_in(authctl, api):
    # Given a user created unconfirmed: the right password gets Strapi's "not confirmed"
    authctl("users", "create", "carol", "carol@example.com", "--unconfirmed", "--password-stdin", stdin="carol's pw\n")
    refused = api.login("carol", "carol's pw")
    assert refused.status == 400 and refused.body["error"]["message"] == "Your account email is not confirmed"

    # When an operator confirms her, by email in any case
    run = authctl("users", "confirm", "Carol@Example.com", "--json")

    # Then she is confirmed and logs in
    assert run.code == 0, run.err
    assert run.json["username"] == "carol" and run.json["confirmed"] is True
    assert api.login("carol", "carol's pw").status == 200

    # And confirming again is not an error
    again = authctl("users", "confirm", "carol")
    assert again.code == 0 and "already confirmed" in again.out


def test_users_confirm_voids_a_pending_confirmation_link(authctl, api, aws, settings_env):
    # Given a registration that mailed a confirmation link
    settings_env(EMAIL_CONFIRMATION="true")
    new = {"username": "newuser", "email": "new@example.com", "password": "a long enough passphrase"}
    assert api.call("register", "register.json", new).status == 200
    run_mailer(aws)
    token = code_from(sent_mail()[-1], "confirmation")

    # When the operator confirms the account instead
    assert authctl("users", "confirm", "newuser").code == 0

    # Then the account logs in, and the mailed link no longer works (one live code, now none)
    assert api.login("newuser", new["password"]).status == 200
    followed = api.call(
        "email_confirmation", "email-confirmation.json", raw_body="", headers={}, query={"confirmation": token}
    )
    assert followed.status == 400 and followed.error_name == "ValidationError"


def test_users_send_reset_mails_a_code_that_resets_the_password_and_ends_sessions(authctl, api, aws, demo_user):
    # Given the demo user logged in
    login = api.login()

    # When an operator sends them a reset mail, and the mailer runs
    run = authctl("users", "send-reset", "demo", *MAIL)
    assert run.code == 0, run.err
    assert "queued to demo@example.com" in run.out and "note: the mailer sends it unless" in run.err
    assert run_mailer(aws) == {"batchItemFailures": []}

    # Then the user has Strapi's reset mail, and its code resets the password
    (message,) = sent_mail()
    assert message["To"] == "demo@example.com" and message["Subject"] == "Reset password"
    body = {"code": code_from(message), "password": NEW_PASSWORD, "passwordConfirmation": NEW_PASSWORD}
    reset = api.call("reset_password", "reset-password.json", body)
    assert reset.status == 200 and reset.body["user"]["id"] == demo_user.id

    # And every earlier session ended; only the new password logs in
    assert api.refresh_cookie(cookie_value(login)).status == 401
    assert api.login(password=DEMO_PASSWORD).status == 400
    assert api.login(password=NEW_PASSWORD).status == 200


def test_users_send_reset_enqueues_exactly_what_forgot_password_enqueues(authctl, api, aws, demo_user):
    # Given forgot-password called for the demo user (the events' API is ISSUER)
    assert api.call("mail_request", "forgot-password.json", {"email": "DEMO@example.com"}).status == 200

    # When an operator sends a reset by username, with the same API URL
    assert authctl("users", "send-reset", "demo", *MAIL).code == 0

    # Then both queued the same request
    messages = aws["sqs"].receive_message(QueueUrl=queue_url(aws), MaxNumberOfMessages=10)["Messages"]
    bodies = [json.loads(m["Body"]) for m in messages]
    assert len(bodies) == 2 and bodies[0] == bodies[1]
    assert bodies[0] == {"purpose": "reset", "email": "demo@example.com", "apiUrl": ISSUER}


def test_users_send_reset_refuses_a_blocked_user_and_queues_nothing(authctl, aws, demo_user):
    authctl("users", "block", "demo")
    run = authctl("users", "send-reset", "demo", *MAIL)
    assert run.code == 1 and "blocked" in run.err
    assert "Messages" not in aws["sqs"].receive_message(QueueUrl=queue_url(aws))


@pytest.mark.parametrize(
    ("unset", "args", "message"),
    [
        ("MAIL_QUEUE_URL", MAIL, "no mail queue known"),
        ("TOKEN_ISSUER", [], "no API URL known"),
    ],
)
def test_users_send_reset_without_a_queue_or_api_url_says_how_to_name_them(
    authctl, demo_user, monkeypatch, unset, args, message
):
    monkeypatch.delenv(unset, raising=False)
    run = authctl("users", "send-reset", "demo", *args)
    assert run.code == 1 and message in run.err and "--mail-queue and --api-url" in run.err


def test_users_send_reset_takes_the_api_url_from_token_issuer_like_the_functions(authctl, aws, demo_user, monkeypatch):
    monkeypatch.setenv("TOKEN_ISSUER", "https://auth.example.com/")
    assert authctl("users", "send-reset", "demo").code == 0
    (message,) = aws["sqs"].receive_message(QueueUrl=queue_url(aws))["Messages"]
    assert json.loads(message["Body"])["apiUrl"] == "https://auth.example.com"


# --- sessions --------------------------------------------------------------------------------


def test_sessions_list_revoke_one_and_revoke_all(authctl, api, demo_user):
    # Given two sessions of the demo user
    first, second = api.login(), api.login()

    # When listed
    listed = authctl("sessions", "list", "demo", "--json")

    # Then both appear, newest first, with the client's details
    assert listed.code == 0
    ids = [s["id"] for s in listed.json]
    assert len(ids) == 2 and all(s["userAgent"] == "curl/8.5.0" and s["userId"] == demo_user.id for s in listed.json)
    text = authctl("sessions", "list", "demo").out
    assert text.splitlines()[0].split()[:2] == ["SESSION", "CREATED"] and all(i in text for i in ids)

    # When one is revoked / Then only that one's refresh fails
    first_id = cookie_value(first).split(".")[0]
    assert authctl("sessions", "revoke", first_id).code == 0
    assert api.refresh_cookie(cookie_value(first)).status == 401
    second_token = cookie_value(api.refresh_cookie(cookie_value(second)))

    # And revoking it again is not an error (already ended)
    again = authctl("sessions", "revoke", first_id, "--json")
    assert again.code == 0 and again.json["alreadyEnded"] is True

    # When all are revoked / Then the other one fails too
    everything = authctl("sessions", "revoke-all", "demo", "--json")
    assert everything.code == 0 and everything.json["sessionsEnded"] == 1
    assert api.refresh_cookie(second_token).status == 401
    assert authctl("sessions", "list", "demo", "--json").json == []


@pytest.mark.parametrize("session_id", ["AAAAAAAAAAAAAAAAAAAAAA", "not-a-session-id"])
def test_sessions_revoke_unknown_session_exits_1(authctl, demo_user, session_id):
    run = authctl("sessions", "revoke", session_id)
    assert run.code == 1 and "not found" in run.err


def test_stored_text_cannot_send_escape_sequences_to_the_terminal(authctl, demo_user):
    # Given a session whose user agent (client-controlled) holds a terminal escape sequence
    from authlayer.config import get_settings
    from authlayer.logic import sessions

    sessions.start(get_settings(), demo_user.id, "evil\x1b]0;pwned\x07\x1b[2J", "198.51.100.7")

    # When listed for a terminal / Then the control characters are replaced
    run = authctl("sessions", "list", "demo")
    assert run.code == 0
    assert "\x1b" not in run.out and "\x07" not in run.out
    assert "evil?]0;pwned??[2J" in run.out


# --- keys ------------------------------------------------------------------------------------


def test_keys_list_shows_kid_role_and_size_but_no_private_material(authctl, api, demo_user):
    run = authctl("keys", "list")
    assert run.code == 0
    jwks_kid = api.call("keys", "jwks.json").body["keys"][0]["kid"]
    assert jwks_kid in run.out and "signs" in run.out and "2048" in run.out
    assert "PRIVATE" not in run.out and "MII" not in run.out
    data = authctl("keys", "list", "--json").json
    assert data["keys"] == [{"kid": jwks_kid, "role": "signs", "signing": True, "bits": 2048}]


def test_keys_generate_refuses_to_overwrite_without_force(authctl, aws):
    # Given the key already in SSM
    before = aws["ssm"].get_parameter(Name=KEY_PARAMETER, WithDecryption=True)["Parameter"]["Value"]

    # When generating without --force / Then refused, nothing written
    run = authctl("keys", "generate")
    assert run.code == 1 and "already exists" in run.err and "--force" in run.err
    assert aws["ssm"].get_parameter(Name=KEY_PARAMETER, WithDecryption=True)["Parameter"]["Value"] == before

    # When forced / Then a different single key, stored as a SecureString
    forced = authctl("keys", "generate", "--force", "--json")
    assert forced.code == 0 and forced.json["replaced"] is True and len(forced.json["keys"]) == 1
    parameter = aws["ssm"].get_parameter(Name=KEY_PARAMETER, WithDecryption=True)["Parameter"]
    assert parameter["Value"] != before and parameter["Type"] == "SecureString"
    assert "PRIVATE" not in forced.out
    # And the public JWK Set was replaced with it
    public = json.loads(aws["ssm"].get_parameter(Name=JWKS_PARAMETER)["Parameter"]["Value"])
    assert [k["kid"] for k in public["keys"]] == [forced.json["keys"][0]["kid"]]


def test_keys_generate_creates_a_missing_parameter(authctl, aws):
    other = [*TARGET[:-1], "/other/signing-key"]
    run = authctl("keys", "generate", target_args=other)
    assert run.code == 0 and "generated" in run.out
    value = aws["ssm"].get_parameter(Name="/other/signing-key", WithDecryption=True)["Parameter"]["Value"]
    assert value.count("BEGIN PRIVATE KEY") == 1
    public = aws["ssm"].get_parameter(Name="/other/signing-key-jwks")["Parameter"]
    assert public["Type"] == "String" and json.loads(public["Value"])["keys"][0]["kty"] == "RSA"


def test_keys_rotate_publishes_a_key_that_does_not_sign_yet_and_says_how_long_to_wait(authctl, api, demo_user, aws):
    # Given a token signed with the current key
    old_token = api.login().body["jwt"]
    old_kid = jwt.get_unverified_header(old_token)["kid"]

    # When the keys are rotated (phase one: publish)
    run = authctl("keys", "rotate")
    data = authctl("keys", "list", "--json").json

    # Then the new key is published second: in the SecureString and the public set, not signing
    assert run.code == 0, run.err
    new_kid = data["keys"][1]["kid"]
    assert data["keys"] == [
        {"kid": old_kid, "role": "signs", "signing": True, "bits": 2048},
        {"kid": new_kid, "role": "published", "signing": False, "bits": 2048},
    ]
    assert data["jwks_in_sync"] is True
    public = json.loads(aws["ssm"].get_parameter(Name=JWKS_PARAMETER)["Parameter"]["Value"])
    assert [k["kid"] for k in public["keys"]] == [old_kid, new_kid]
    # And the operator is told how long to wait and what to run then
    assert "wait 10 minutes" in run.out and f"authctl keys activate {new_kid}" in run.out
    # And tokens are still signed by the old key, which keeps verifying
    assert jwt.get_unverified_header(api.login().body["jwt"])["kid"] == old_kid
    assert api.me(old_token).status == 200


def test_keys_rotate_refuses_while_a_second_key_is_published(authctl, aws):
    # Given a key published and waiting
    assert authctl("keys", "rotate").code == 0
    before = aws["ssm"].get_parameter(Name=KEY_PARAMETER, WithDecryption=True)["Parameter"]["Version"]

    # When rotated again / Then refused (two keys fill the parameter), nothing dropped
    again = authctl("keys", "rotate")
    assert again.code == 1 and "keys activate" in again.err and "keys retire" in again.err
    assert aws["ssm"].get_parameter(Name=KEY_PARAMETER, WithDecryption=True)["Parameter"]["Version"] == before


def test_keys_activate_waits_for_the_caches_then_the_new_key_signs(authctl, api, demo_user):
    from freezegun import freeze_time

    with freeze_time("2026-12-01 12:00:00") as clock:
        old_kid = authctl("keys", "list", "--json").json["keys"][0]["kid"]
        new_kid = authctl("keys", "rotate", "--json").json["published"]

        # When activated too early / Then refused with the time it may sign from
        early = authctl("keys", "activate")
        assert early.code == 1 and "2026-12-01T12:10:00Z" in early.err and "--force" in early.err

        # When activated after the wait / Then it signs, the previous key stays published
        clock.tick(600)
        run = authctl("keys", "activate", "--json")
        assert run.code == 0, run.err
        assert [(k["kid"], k["role"]) for k in run.json["keys"]] == [(new_kid, "signs"), (old_kid, "published")]
        api.reload()  # a new container
        assert jwt.get_unverified_header(api.login().body["jwt"])["kid"] == new_kid
        assert [k["kid"] for k in api.call("keys", "jwks.json").body["keys"]] == [new_kid, old_kid]


def test_keys_activate_refuses_the_signing_key_an_unknown_kid_and_a_key_missing_from_the_public_set(authctl, aws):
    signing = authctl("keys", "list", "--json").json["keys"][0]["kid"]
    assert authctl("keys", "activate").code == 1  # nothing published
    assert "signing key" in authctl("keys", "activate", signing).err
    assert authctl("keys", "activate", "no-such-kid").code == 1
    # Given a published key the public set lost (written by hand, say)
    new_kid = authctl("keys", "rotate", "--json").json["published"]
    aws["ssm"].delete_parameter(Name=JWKS_PARAMETER)
    run = authctl("keys", "activate", new_kid, "--force")
    assert run.code == 1 and "keys sync-jwks" in run.err  # even --force never signs with an unpublished key


def test_keys_retire_waits_for_the_previous_keys_tokens_to_expire(authctl, api, demo_user):
    from freezegun import freeze_time

    with freeze_time("2026-12-01 12:00:00") as clock:
        # Given a completed rotation: a token of the previous key still verifies
        old_token = api.login().body["jwt"]
        old_kid = jwt.get_unverified_header(old_token)["kid"]
        authctl("keys", "rotate")
        clock.tick(600)
        new_kid = authctl("keys", "activate", "--json").json["activated"]

        # When retired before its tokens can have expired / Then refused
        early = authctl("keys", "retire", old_kid)
        assert early.code == 1 and "--force" in early.err and "--access-token-ttl" in early.err
        # (a shorter access-token lifetime shortens the wait: 5 min cache + 60 s + 30 s leeway)
        clock.tick(300 + 60 + 30)
        assert authctl("keys", "retire", old_kid, "--access-token-ttl", "2m").code == 1
        # When retired after the cache, the access-token lifetime and the leeway
        run = authctl("keys", "retire", old_kid, "--access-token-ttl", "60s", "--json")

        # Then only the signing key is left, in both parameters
        assert run.code == 0 and run.json["dropped"] == [old_kid]
        api.reload()
        assert [k["kid"] for k in api.call("keys", "jwks.json").body["keys"]] == [new_kid]
        assert api.me(old_token).status == 401
        assert authctl("keys", "prune").out.strip() == "nothing to prune"


def test_keys_prune_force_drops_all_but_the_signing_key_at_once(authctl, api, demo_user):
    signing = authctl("keys", "list", "--json").json["keys"][0]["kid"]
    published = authctl("keys", "rotate", "--json").json["published"]
    assert authctl("keys", "prune").code == 1  # the wait applies to prune too
    run = authctl("keys", "prune", "--force", "--json")
    assert run.code == 0 and run.json["dropped"] == [published]
    assert [k["kid"] for k in api.call("keys", "jwks.json").body["keys"]] == [signing]


def test_keys_sync_jwks_writes_a_missing_public_set_and_list_says_when_it_is_out_of_date(authctl, api, aws):
    # Given a deployment whose public JWK Set was never written (keys made before it existed)
    aws["ssm"].delete_parameter(Name=JWKS_PARAMETER)
    assert api.call("keys", "jwks.json").status == 503  # fails closed, no fallback to the private key

    # When listed / Then the operator is told how to fix it
    listed = authctl("keys", "list")
    assert listed.code == 0 and "keys sync-jwks" in listed.err

    # When synced / Then it is a String holding exactly the public keys, and a second sync writes nothing
    run = authctl("keys", "sync-jwks")
    assert run.code == 0 and "wrote" in run.out
    parameter = aws["ssm"].get_parameter(Name=JWKS_PARAMETER)["Parameter"]
    assert parameter["Type"] == "String" and "PRIVATE" not in parameter["Value"]
    assert authctl("keys", "list", "--json").json["jwks_in_sync"] is True
    assert "up to date" in authctl("keys", "sync-jwks").out
    api.reload()
    assert api.call("keys", "jwks.json").status == 200


def test_keys_rotate_without_a_parameter_exits_1(authctl):
    run = authctl("keys", "rotate", target_args=[*TARGET[:-1], "/missing/key"])
    assert run.code == 1 and "keys generate" in run.err


# --- Strapi import ---------------------------------------------------------------------------


def test_strapi_user_with_bcrypt_hash_logs_in_and_is_upgraded_to_argon2id(authctl, api, aws, tmp_path):
    # Given a Strapi export with a bcrypt-hashed user
    export = write_export(tmp_path, [strapi_user()])

    # When imported
    run = authctl("import-strapi", export, "--json")

    # Then the Strapi id, names, flags and timestamps are kept, and the bcrypt hash as is
    assert run.code == 0, run.out
    assert run.json["counts"] == {"imported": 1, "already present": 0, "skipped": 0, "refused": 0}
    shown = authctl("users", "show", "7", "--json").json
    assert shown["username"] == "strapi_user" and shown["email"] == "strapi.user@example.com"
    assert shown["createdAt"] == "2023-05-01T10:00:00.000Z" and shown["password"].startswith("bcrypt")
    assert stored_hash(aws, "7").startswith("$2b$")

    # When the user logs in with their Strapi password
    login = api.login("strapi.user@example.com", STRAPI_PASSWORD)

    # Then it works, with Strapi's id, and the stored hash is argon2id from then on
    assert login.status == 200 and login.body["user"]["id"] == "7"
    assert stored_hash(aws, "7").startswith("$argon2id$")
    assert api.login("strapi_user", STRAPI_PASSWORD).status == 200
    assert api.login("strapi_user", "wrong password").status == 400


def test_strapi_import_is_idempotent(authctl, tmp_path):
    export = write_export(
        tmp_path,
        {"data": [strapi_user(1, "one", "one@example.com"), strapi_user(2, "two", "two@example.com")]},
    )
    assert authctl("import-strapi", export).code == 0
    again = authctl("import-strapi", export, "--json")
    assert again.code == 0
    assert again.json["counts"] == {"imported": 0, "already present": 2, "skipped": 0, "refused": 0}


def test_strapi_import_skips_taken_names_and_refuses_entries_without_a_bcrypt_hash(authctl, demo_user, tmp_path):
    # Given an export with one good user, name clashes, a plaintext password and no password
    export = write_export(
        tmp_path,
        [
            strapi_user(1, "good", "good@example.com"),
            strapi_user(2, "demo", "someone@example.com"),  # username taken
            strapi_user(3, "someone", "DEMO@example.com"),  # email taken
            strapi_user(4, "plain", "plain@example.com", password="hunter2hunter2"),
            strapi_user(5, "nohash", "nohash@example.com", password=None),
            strapi_user(6, "google", "g@example.com", provider="google", password=""),
            strapi_user(1, "impostor", "impostor@example.com"),  # id 1 belongs to "good"
            "not an object",
        ],
    )

    # When imported
    run = authctl("import-strapi", export, "--json")

    # Then only the good user is in; each other entry is reported with why, exit code 1
    assert run.code == 1
    assert run.json["counts"] == {"imported": 1, "already present": 0, "skipped": 3, "refused": 4}
    results = {(r["id"], r["result"], r["reason"]) for r in run.json["results"]}
    assert ("1", "imported", "") in results
    assert ("2", "skipped", "username or email taken by another user") in results
    assert ("3", "skipped", "username or email taken by another user") in results
    assert ("4", "refused", "password is not a bcrypt hash") in results
    assert ("1", "skipped", "id 1 belongs to good") in results
    assert "hunter2" not in run.out  # a plaintext password is never echoed
    assert authctl("users", "show", "plain").code == 1

    # And the text report names the problems
    text = authctl("import-strapi", export)
    assert text.code == 1 and "1 already present, 3 skipped, 4 refused" in text.out and "hunter2" not in text.out


def test_strapi_v4_rest_shape_and_sql_dump_columns_are_understood(authctl, tmp_path):
    rest = {
        "id": 11,
        "attributes": {k: v for k, v in strapi_user(0, "rest", "rest@example.com").items() if k != "id"},
    }
    dump = strapi_user(12, "dump", "dump@example.com", confirmed=1, blocked=0)
    dump["created_at"] = "2022-01-02 03:04:05.678"
    del dump["createdAt"]
    run = authctl("import-strapi", write_export(tmp_path, {"data": [rest, dump]}), "--json")
    assert run.json["counts"]["imported"] == 2, run.json
    assert authctl("users", "show", "dump", "--json").json["createdAt"] == "2022-01-02T03:04:05.678Z"
    assert authctl("users", "show", "11", "--json").json["username"] == "rest"


@pytest.mark.parametrize("content", ["{not json", '{"users": []}', '"text"'])
def test_strapi_import_refuses_a_file_that_is_not_an_export(authctl, tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_text(content)
    run = authctl("import-strapi", str(path))
    assert run.code == 1 and str(path) in run.err


def test_strapi_import_keeps_confirmed_and_an_unconfirmed_user_waits_for_users_confirm(authctl, api, tmp_path):
    # Given a Strapi export with a confirmed and an unconfirmed user
    export = write_export(
        tmp_path,
        [strapi_user(1, "yes", "yes@example.com"), strapi_user(2, "pending", "pending@example.com", confirmed=False)],
    )

    # When imported / Then each keeps its flag
    assert authctl("import-strapi", export).code == 0
    assert authctl("users", "show", "yes", "--json").json["confirmed"] is True
    assert authctl("users", "show", "pending", "--json").json["confirmed"] is False
    assert api.login("yes", STRAPI_PASSWORD).status == 200
    refused = api.login("pending", STRAPI_PASSWORD)
    assert refused.status == 400 and refused.error_name == "ApplicationError"

    # When an operator confirms the pending one / Then they log in with their Strapi password
    assert authctl("users", "confirm", "pending").code == 0
    assert api.login("pending", STRAPI_PASSWORD).status == 200


def test_strapi_reset_and_confirmation_tokens_are_not_imported(authctl, api, aws, tmp_path):
    # Given a Strapi user with a pending reset and a pending confirmation (plain-text tokens)
    entry = strapi_user(
        3,
        "tokens",
        "tokens@example.com",
        confirmed=False,
        resetPasswordToken=STRAPI_RESET_TOKEN,
        confirmationToken=STRAPI_CONFIRMATION_TOKEN,
    )

    # When imported
    assert authctl("import-strapi", write_export(tmp_path, [entry])).code == 0

    # Then neither token is stored anywhere, and neither works here
    stored = json.dumps(aws["dynamodb"].scan(TableName="UsersTable")["Items"])
    assert STRAPI_RESET_TOKEN not in stored and STRAPI_CONFIRMATION_TOKEN not in stored
    body = {"code": STRAPI_RESET_TOKEN, "password": NEW_PASSWORD, "passwordConfirmation": NEW_PASSWORD}
    reset = api.call("reset_password", "reset-password.json", body)
    assert reset.status == 400 and reset.body["error"]["message"] == "Incorrect code provided"
    query = {"confirmation": STRAPI_CONFIRMATION_TOKEN}
    confirm = api.call("email_confirmation", "email-confirmation.json", raw_body="", headers={}, query=query)
    assert confirm.status == 400 and confirm.error_name == "ValidationError"


def test_strapi_import_help_says_which_fields_are_kept_and_which_tokens_are_not(capsys):
    assert main(["import-strapi", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "confirmed" in text
    assert "Not imported: Strapi's resetPasswordToken and confirmationToken" in text


def test_import_user_refuses_a_plaintext_as_hash(aws):
    from authlayer.accounts import import_user

    with pytest.raises(ValueError):
        import_user("9", "x", "x@example.com", "plaintext", created_at="", updated_at="")


# --- targets, errors, output -----------------------------------------------------------------


def test_stack_outputs_name_the_tables_and_the_key_parameter(authctl, aws, demo_user):
    # Given a CloudFormation stack with the template's outputs
    import boto3

    template = {
        "Resources": {
            "Marker": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {"Name": "/auth-test/marker", "Type": "String", "Value": "x"},
            }
        },
        "Outputs": {
            "UsersTableName": {"Value": "UsersTable"},
            "SessionsTableName": {"Value": "SessionsTable"},
            "SigningKeyParameter": {"Value": KEY_PARAMETER},
        },
    }
    boto3.client("cloudformation", region_name="us-east-1").create_stack(
        StackName="auth-test", TemplateBody=json.dumps(template)
    )

    # When addressed by --stack alone / Then the commands reach its tables and key
    users = authctl("--stack", "auth-test", "users", "list", "--json", target_args=[])
    assert users.code == 0 and [u["username"] for u in users.json] == ["demo"]
    assert authctl("keys", "list", "--stack", "auth-test", "--region", "us-east-1", target_args=[]).code == 0


def test_unknown_stack_exits_1(authctl):
    run = authctl("--stack", "no-such-stack", "users", "list", target_args=[])
    assert run.code == 1 and "stack no-such-stack not found" in run.err


def test_aws_unavailable_exits_2(authctl, demo_user):
    run = authctl("users", "list", target_args=["--users-table", "Gone", "--sessions-table", "Gone"])
    assert run.code == 2 and "AWS unavailable" in run.err
    assert "Traceback" not in run.err


def test_no_target_exits_1_and_says_how_to_name_one(authctl, monkeypatch):
    for name in ("USERS_TABLE", "SESSIONS_TABLE", "SIGNING_KEY_PARAMETER"):
        monkeypatch.delenv(name)
    run = authctl("users", "list", target_args=[])
    assert run.code == 1 and "--stack NAME, --local" in run.err
    assert authctl("keys", "list", target_args=[]).code == 1


def test_usage_errors_exit_64_so_2_always_means_aws_unavailable(authctl):
    assert authctl("users", "frobnicate").code == 64
    assert authctl("--stack", "a", "--local", "users", "list", target_args=[]).code == 1
    assert authctl("users", "--help").code == 0


def test_the_environment_is_restored_after_a_command(authctl, demo_user):
    before = dict(os.environ)
    authctl(
        "users",
        "list",
        target_args=[*TARGET, "--endpoint-url", "http://127.0.0.1:1", "--region", "eu-west-1"],
    )
    assert dict(os.environ) == before


def test_local_reads_the_runners_state_file(tmp_path, monkeypatch):
    # Given the state file the local runner writes
    state = {
        "region": "us-east-1",
        "dynamodb_endpoint": "http://127.0.0.1:5001",
        "ssm_endpoint": "http://127.0.0.1:5001",
        "users_table": "UsersTable",
        "sessions_table": "SessionsTable",
        "signing_key_parameter": KEY_PARAMETER,
    }
    (tmp_path / target.STATE_FILE).write_text(json.dumps(state))
    monkeypatch.setenv("AWS_PROFILE", "production")

    # When configured for --local / Then the layer's environment points at moto, never a profile
    with target.configured({"local": True, "state_dir": str(tmp_path)}) as where:
        assert where.users_table == "UsersTable" and where.key_parameter == KEY_PARAMETER
        assert os.environ["AWS_ENDPOINT_URL_DYNAMODB"] == os.environ["AWS_ENDPOINT_URL_SSM"] == "http://127.0.0.1:5001"
        assert os.environ["USERS_TABLE"] == "UsersTable" and os.environ["SESSIONS_TABLE"] == "SessionsTable"
        assert os.environ["AWS_DEFAULT_REGION"] == "us-east-1" and "AWS_PROFILE" not in os.environ
    assert os.environ["AWS_PROFILE"] == "production"


def test_local_refuses_a_missing_or_remote_state(tmp_path):
    from authctl.errors import CliError

    with (
        pytest.raises(CliError, match="is the local runner"),
        target.configured({"local": True, "state_dir": str(tmp_path)}),
    ):
        pass
    state = {
        "region": "us-east-1",
        "dynamodb_endpoint": "https://dynamodb.us-east-1.amazonaws.com",
        "ssm_endpoint": "http://127.0.0.1:1",
        "users_table": "U",
        "sessions_table": "S",
        "signing_key_parameter": "/k",
    }
    (tmp_path / target.STATE_FILE).write_text(json.dumps(state))
    with (
        pytest.raises(CliError, match="not on this machine"),
        target.configured({"local": True, "state_dir": str(tmp_path)}),
    ):
        pass


def stack_with_queue(logical_id: str) -> str:
    """A stack template with the outputs authctl reads and one SQS queue named logical_id."""
    return json.dumps(
        {
            "Resources": {logical_id: {"Type": "AWS::SQS::Queue"}},
            "Outputs": {
                "UsersTableName": {"Value": "UsersTable"},
                "SessionsTableName": {"Value": "SessionsTable"},
                "SigningKeyParameter": {"Value": KEY_PARAMETER},
                "Issuer": {"Value": "https://api.example.com"},
            },
        }
    )


def test_stack_mail_queue_comes_from_the_stacks_mail_queue_resource(authctl, aws, demo_user):
    # Given a stack with the template's outputs and its MailQueue resource (no output for the queue)
    import boto3

    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    cloudformation.create_stack(StackName="auth-mail", TemplateBody=stack_with_queue("MailQueue"))
    resource = cloudformation.describe_stack_resource(StackName="auth-mail", LogicalResourceId="MailQueue")
    stack_queue = resource["StackResourceDetail"]["PhysicalResourceId"]

    # When a reset is sent with --stack alone
    run = authctl("--stack", "auth-mail", "users", "send-reset", "demo", target_args=[])

    # Then the request is in the stack's queue (not the one named in the shell), with its issuer
    assert run.code == 0, run.err
    assert stack_queue != queue_url(aws)
    (message,) = aws["sqs"].receive_message(QueueUrl=stack_queue)["Messages"]
    assert json.loads(message["Body"]) == {
        "purpose": "reset",
        "email": "demo@example.com",
        "apiUrl": "https://api.example.com",
    }


def test_stack_without_a_mail_queue_resource_exits_1(authctl, aws, demo_user):
    import boto3

    boto3.client("cloudformation", region_name="us-east-1").create_stack(
        StackName="other", TemplateBody=stack_with_queue("Marker")
    )
    run = authctl("--stack", "other", "users", "send-reset", "demo", target_args=[])
    assert run.code == 1 and "no resource MailQueue" in run.err
    # Commands that send no mail never look the queue up
    assert authctl("--stack", "other", "users", "list", target_args=[]).code == 0


LOCAL_STATE = {
    "region": "us-east-1",
    "dynamodb_endpoint": "http://127.0.0.1:5001",
    "ssm_endpoint": "http://127.0.0.1:5001",
    "users_table": "UsersTable",
    "sessions_table": "SessionsTable",
    "signing_key_parameter": KEY_PARAMETER,
}
LOCAL_MAIL_STATE = {
    "sqs_endpoint": "http://127.0.0.1:5001",
    "mail_queue_url": "MailQueue",
    "issuer": "http://127.0.0.1:3000",
}


def test_local_mail_queue_comes_from_the_runners_state_file(tmp_path, monkeypatch):
    # Given the state file with the runner's mail queue, and a shell pointing SQS elsewhere
    (tmp_path / target.STATE_FILE).write_text(json.dumps(LOCAL_STATE | LOCAL_MAIL_STATE))
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "https://sqs.eu-west-1.amazonaws.com")
    monkeypatch.setenv("MAIL_QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/1/prod-mail")

    # When configured for --local / Then the layer enqueues into the runner's queue, on moto
    with target.configured({"local": True, "state_dir": str(tmp_path), "needs": "mail"}) as where:
        where.require("mail")
        assert where.mail_queue == "MailQueue" and where.api_url == "http://127.0.0.1:3000"
        assert os.environ["MAIL_QUEUE_URL"] == "MailQueue"
        assert os.environ["AWS_ENDPOINT_URL_SQS"] == "http://127.0.0.1:5001"
    assert os.environ["MAIL_QUEUE_URL"] == "https://sqs.eu-west-1.amazonaws.com/1/prod-mail"


def test_local_state_without_the_mail_keys_serves_everything_but_mail(tmp_path, monkeypatch):
    # Given a state file written by a runner that does not record its mail queue
    from authctl.errors import CliError

    (tmp_path / target.STATE_FILE).write_text(json.dumps(LOCAL_STATE))
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "https://sqs.eu-west-1.amazonaws.com")
    monkeypatch.setenv("MAIL_QUEUE_URL", "prod-mail")

    # Then the other commands work, SQS points nowhere and the shell's queue is not used
    with target.configured({"local": True, "state_dir": str(tmp_path)}) as where:
        where.require("tables")
        assert "AWS_ENDPOINT_URL_SQS" not in os.environ and "MAIL_QUEUE_URL" not in os.environ
        # And mail commands say which keys the state file lacks
        with pytest.raises(CliError, match="lacks sqs_endpoint, mail_queue_url, issuer"):
            where.require("mail")


def test_local_refuses_a_remote_sqs_endpoint(tmp_path):
    from authctl.errors import CliError

    state = LOCAL_STATE | LOCAL_MAIL_STATE | {"sqs_endpoint": "https://sqs.us-east-1.amazonaws.com"}
    (tmp_path / target.STATE_FILE).write_text(json.dumps(state))
    with (
        pytest.raises(CliError, match="sqs_endpoint .* is not on this machine"),
        target.configured({"local": True, "state_dir": str(tmp_path)}),
    ):
        pass


@pytest.mark.parametrize("command", ["activate", "retire"])
def test_rfc7638_a_kid_that_begins_with_a_dash_is_a_value_not_an_unknown_option(command):
    # Given a thumbprint kid that begins with "-" (one in 64 do: base64url of SHA-256)
    from authctl.cli import build_parser

    kid = "-X5qL2aZiVdHdk-e0KkP1UyUKNUJ8OIFXG6ejWRZwtM"
    # When it is passed as `keys <command> KID`, before or after an option
    first = build_parser().parse_args(["keys", command, kid, "--force"])
    second = build_parser().parse_args(["keys", command, "--force", kid])
    # Then it is the kid, and the option still counts
    assert first.kid == second.kid == kid and first.force and second.force
