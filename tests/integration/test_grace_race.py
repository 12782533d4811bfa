"""Tabs racing inside the grace window are one race, not a theft (RFC 9700 §4.14.2; catalogue
R2-11): an ancestor whose every later hop happened inside its window re-derives the one live
token. Real reuse stays detected: after the window, beyond the hops kept, or a chain that does
not lead to the live token."""

import os

import pytest
from freezegun import freeze_time

from authlayer.dal import dynamo
from authlayer.dal import sessions as store
from tests.conftest import cookie_value

T0 = "2026-11-29 12:00:00"


class JustBeforeNextWrite:
    """Run ``action`` once, just before the next ``operation`` (a refresh's write: UpdateItem) is
    sent: another tab's requests land between this request's read and its write (an exact
    interleaving, no threads)."""

    def __init__(self, action, operation="UpdateItem"):
        self.action, self.operation, self.done = action, operation, False

    def __enter__(self):
        dynamo.client().meta.events.register_first("before-call.dynamodb", self._hook)
        return self

    def _hook(self, model, **_):
        if model.name == self.operation and not self.done:
            self.done = True
            self.action()

    def __exit__(self, *exc):
        dynamo.client().meta.events.unregister("before-call.dynamodb", self._hook)
        assert self.done, "the interleaving did not happen"


def session_item(aws):
    (item,) = aws["dynamodb"].scan(TableName="SessionsTable", ConsistentRead=True)["Items"]
    return item


@pytest.mark.parametrize("b_read", ["before A's rotation", "after A's rotation"])
def test_rfc9700_r2_11_three_tabs_racing_inside_the_window_are_not_reuse(api, demo_user, aws, b_read):
    with freeze_time(T0) as frozen:
        parent = cookie_value(api.login())
        frozen.tick(1)
        tokens = {}

        def a_wins_and_gets_c():
            tokens["C"] = cookie_value(api.refresh_cookie(parent))
            frozen.tick(1)

        def c_is_rotated_to_d():
            tokens["D"] = cookie_value(api.refresh_cookie(tokens["C"]))
            frozen.tick(1)

        # Given tabs A and B both send P; A wins and gets C; C is rotated to D before B's write
        if b_read == "before A's rotation":  # B read P as live and tries to rotate it

            def others():
                a_wins_and_gets_c()
                c_is_rotated_to_d()

        else:  # B read C as live (P its parent) and replays the grace window
            a_wins_and_gets_c()
            others = c_is_rotated_to_d
        with JustBeforeNextWrite(others):
            b = api.refresh_cookie(parent)
        # Then B answers 200 with the one live token, and nothing is revoked
        assert b.status == 200, b.body
        assert cookie_value(b) == tokens["D"] != tokens["C"]
        assert "revoked_at" not in session_item(aws)
        assert api.me(b.body["jwt"]).status == 200
        assert api.refresh_cookie(tokens["D"]).status == 200


def test_rfc9700_r2_11_replay_of_the_race_ancestor_after_its_window_still_revokes(api, demo_user, aws):
    with freeze_time(T0) as frozen:
        parent = cookie_value(api.login())
        frozen.tick(1)
        c = cookie_value(api.refresh_cookie(parent))  # P rotated away at T0 + 1
        frozen.tick(5)
        d = cookie_value(api.refresh_cookie(c))
        frozen.tick(6)  # T0 + 12: P went 11 s ago, D's hop only 6 s ago
        assert api.refresh_cookie(parent).status == 401
        assert api.refresh_cookie(d).status == 401
        assert session_item(aws)["revoked_reason"] == {"S": "reuse"}


def test_r2_11_an_ancestor_beyond_the_kept_hops_is_reuse_even_inside_the_window(api, demo_user, aws):
    with freeze_time(T0):
        tokens = [cookie_value(api.login())]
        for _ in range(store.EARLIER_HOPS_KEPT + 2):
            tokens.append(cookie_value(api.refresh_cookie(tokens[-1])))
        live = tokens[-1]
        # The oldest ancestor still known (EARLIER_HOPS_KEPT + 1 hops back) converges on the live one
        deepest = tokens[-(store.EARLIER_HOPS_KEPT + 2)]
        answer = api.refresh_cookie(deepest)
        assert answer.status == 200 and cookie_value(answer) == live
        # One hop older than the chain kept: reuse
        assert api.refresh_cookie(tokens[0]).status == 401
        assert api.refresh_cookie(live).status == 401


def test_r2_11_an_ancestor_whose_chain_does_not_lead_to_the_live_token_is_reuse(api, demo_user, aws):
    with freeze_time(T0):
        parent = cookie_value(api.login())
        c = cookie_value(api.refresh_cookie(parent))
        d = cookie_value(api.refresh_cookie(c))
        # Given the stored chain no longer derives the live token (the P -> C nonce replaced)
        item = session_item(aws)
        (hop,) = item["hops"]["L"]
        broken = hop["B"][:8] + os.urandom(16)
        aws["dynamodb"].update_item(
            TableName="SessionsTable",
            Key={"pk": item["pk"]},
            UpdateExpression="SET hops = :h",
            ExpressionAttributeValues={":h": {"L": [{"B": broken}]}},
        )
        assert api.refresh_cookie(parent).status == 401
        assert api.refresh_cookie(d).status == 401


def test_r2_11_a_guess_with_a_real_session_id_after_a_race_has_no_side_effect(api, demo_user):
    with freeze_time(T0):
        parent = cookie_value(api.login())
        d = cookie_value(api.refresh_cookie(cookie_value(api.refresh_cookie(parent))))
        guess = parent.split(".")[0] + "." + "A" * 43
        assert api.refresh_cookie(guess).status == 401
        assert api.logout(guess, everywhere=True).status == 204
        assert api.refresh_cookie(d).status == 200


def test_r2_11_the_session_item_keeps_a_bounded_chain(api, demo_user, aws):
    # Every rotation adds one 24-byte hop (8-byte time, 16-byte nonce); the item keeps the last few
    token = cookie_value(api.login())
    for _ in range(10):
        token = cookie_value(api.refresh_cookie(token))
    hops = session_item(aws)["hops"]["L"]
    assert len(hops) == store.EARLIER_HOPS_KEPT and all(len(h["B"]) == 24 for h in hops)
