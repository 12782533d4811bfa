"""Arbitrary requests to the handlers: always a 4xx with Strapi's envelope, never a 500."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.test_properties import any_text, json_values

HANDLER_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
bodies = st.one_of(any_text, json_values.map(json.dumps), st.fixed_dictionaries({"identifier": any_text, "password": any_text}).map(json.dumps))


@HANDLER_SETTINGS
@given(body=bodies, cookie=st.one_of(st.none(), any_text), bearer=st.one_of(st.none(), any_text))
def test_asvs5_2_2_1_arbitrary_requests_never_crash_a_handler(api, demo_user, body, cookie, bearer):
    cookies = [f"__Host-refreshToken={cookie}"] if cookie is not None else []
    headers = {"authorization": f"Bearer {bearer}"} if bearer is not None else {}
    for handler, event in (("login", "login.json"), ("refresh", "refresh.json"), ("logout", "logout.json"), ("me", "me.json"), ("sessions", "sessions-list.json")):
        answer = api.call(handler, event, raw_body=body, cookies=cookies, headers=headers)
        assert answer.status < 500, (handler, answer.body)
        if answer.status >= 400:
            assert answer.body["data"] is None and answer.body["error"]["status"] == answer.status
