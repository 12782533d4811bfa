"""Racing refreshes of one token: exactly one live token remains, every caller inside the grace
window ends with a working session, and a replay after the window revokes it
(ASVS 4.0.3 11.1.6, ASVS 5.0 15.4.2, RFC 9700 §4.14.2, oxAuth#1909)."""

import threading

import pytest
from freezegun import freeze_time

from localdev.atomic import make_moto_atomic
from tests.conftest import cookie_value

WORKERS = 20


@pytest.fixture(autouse=True)
def atomic_moto(monkeypatch):
    """DynamoDB's conditional writes are atomic, moto's are not: restore that for these races
    (the same wrapper the local runner uses), so the race under test is ours."""
    make_moto_atomic(monkeypatch.setattr)


def race(api, token, workers=WORKERS):
    barrier = threading.Barrier(workers)
    answers = [None] * workers
    api.call("refresh", "refresh.json", {}, cookies=[])  # load the handler before the race

    def one(i):
        barrier.wait(timeout=10)
        answers[i] = api.refresh_cookie(token)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return answers


def test_asvs5_15_4_2_parallel_refreshes_leave_exactly_one_live_token(api, demo_user, aws):
    token = cookie_value(api.login())
    answers = race(api, token)
    assert all(a is not None for a in answers)
    ok = [a for a in answers if a.status == 200]
    # Every caller ends with a working session: they all hold the one live child
    assert len(ok) == WORKERS
    children = {cookie_value(a) for a in ok}
    assert len(children) == 1
    (child,) = children
    item = aws["dynamodb"].scan(TableName="SessionsTable")["Items"][0]
    assert len(item["history"]["L"]) == 1  # rotated exactly once
    assert api.refresh_cookie(child).status == 200


def test_parallel_replays_after_the_window_revoke_the_session(api, demo_user):
    with freeze_time("2026-11-29 12:00:00", tick=False) as clock:
        parent = cookie_value(api.login())
        child = cookie_value(api.refresh_cookie(parent))
        clock.tick(11)
        answers = race(api, parent, workers=8)
        assert {a.status for a in answers} == {401}
        assert api.refresh_cookie(child).status == 401


def test_asvs4_11_1_6_parallel_bad_passwords_cannot_outrun_the_counter(api, demo_user, aws):
    workers = 40
    barrier = threading.Barrier(workers)
    statuses = [0] * workers
    api.login("nobody", "x")  # load the handler before the race

    def guess(i):
        barrier.wait(timeout=10)
        statuses[i] = api.login("demo", f"guess-{i}").status

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    # Exactly five guesses reach the hash check; the rest are slowed down with 429
    assert statuses.count(400) == 5 and statuses.count(429) == workers - 5
    item = aws["dynamodb"].get_item(TableName="UsersTable", Key={"pk": {"S": f"USER#{demo_user.id}"}})["Item"]
    assert item["failed_logins"]["N"] == "5"
