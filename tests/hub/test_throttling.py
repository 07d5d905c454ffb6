"""Rate limits (hub.throttle): sign-in, sign-up, API tokens, ordering and time series are
counted per account and per address; over a limit the answer is 429 with Retry-After, and
nothing is done (no session, no account, no order). The counts live in the shared cache."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from hub.mosaics.models import MosaicRequest
from tests.hub.test_mosaics_api import ORDER
from tests.hub.test_timeseries_api import PARAMS
from tests.hubstack import free_port, redis_broker

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def one_window(monkeypatch):
    """django-ratelimit's clock stands still: counts start anew when a window ends, and a test
    that straddled a window's end would see its count reset."""
    import django_ratelimit.core

    monkeypatch.setattr(django_ratelimit.core, "time", SimpleNamespace(time=lambda: 1.9e9))


def login(client, username: str, password: str, address: str = "192.0.2.1"):
    return client.post("/accounts/login/", {"username": username, "password": password},
                       REMOTE_ADDR=address)


def assert_throttled(response) -> int:
    assert response.status_code == 429, response.content[:300]
    wait = int(response["Retry-After"])
    assert 1 <= wait <= 3600  # the longest default window, an hour
    return wait


def test_a_hundred_wrong_passwords_end_in_429_and_then_the_right_one_waits_too(client, alice):
    answers = [login(client, "alice", f"guess-{n}").status_code for n in range(100)]
    assert answers[:10] == [200] * 10  # the form again, with its error
    assert set(answers[10:]) == {429}
    right = login(client, "alice", "alice-secret-1")
    assert_throttled(right)
    assert b"Too many requests" in right.content and b"sign-in attempts" in right.content
    assert "_auth_user_id" not in client.session


def test_the_user_name_is_counted_whatever_its_case_and_address(client, alice):
    for n in range(10):
        login(client, "ALICE" if n % 2 else "alice", "wrong", address=f"198.51.100.{n}")
    assert_throttled(login(client, "alice", "alice-secret-1", address="203.0.113.7"))


def test_one_address_trying_many_user_names_is_stopped(client, alice):
    answers = [login(client, f"user{n}", "wrong").status_code for n in range(51)]
    assert answers[:50] == [200] * 50 and answers[50] == 429
    # Another address still signs in.
    assert login(client, "alice", "alice-secret-1", address="203.0.113.9").status_code == 302


def test_an_ipv6_subscriber_counts_as_its_whole_64(client, alice, settings):
    settings.HUB_RATE_LIMITS = {"login.ip": "3/m"}
    for n in range(3):
        login(client, f"user{n}", "wrong", address=f"2001:db8:1:2::{n + 1:x}")
    assert_throttled(login(client, "alice", "alice-secret-1", address="2001:db8:1:2:ffff::1"))
    assert login(client, "alice", "alice-secret-1", address="2001:db8:1:3::1").status_code == 302


def test_the_proxy_header_names_the_caller_when_configured(client, alice, settings):
    settings.HUB_RATE_LIMITS = {"login.ip": "2/m"}
    settings.HUB_CLIENT_IP_HEADER = "X-Real-IP"
    for n in range(2):
        client.post("/accounts/login/", {"username": f"u{n}", "password": "x"},
                    HTTP_X_REAL_IP="198.51.100.20")
    blocked = client.post("/accounts/login/", {"username": "alice", "password": "x"},
                          HTTP_X_REAL_IP="198.51.100.20")
    assert_throttled(blocked)
    other = client.post("/accounts/login/", {"username": "alice",
                                             "password": "alice-secret-1"},
                        HTTP_X_REAL_IP="198.51.100.21")
    assert other.status_code == 302


def test_sign_up_is_limited_per_address_and_the_refused_one_creates_nothing(
        client, django_user_model):
    for n in range(10):
        response = client.post("/accounts/signup/", {
            "username": f"new{n}", "email": f"new{n}@example.org",
            "password1": "a-long-pass-phrase-9", "password2": "a-long-pass-phrase-9"},
            REMOTE_ADDR="192.0.2.50")
        assert response.status_code == 302
        client.logout()
    refused = client.post("/accounts/signup/", {
        "username": "new10", "email": "new10@example.org", "password1": "a-long-pass-phrase-9",
        "password2": "a-long-pass-phrase-9"}, REMOTE_ADDR="192.0.2.50")
    assert_throttled(refused)
    assert not django_user_model.objects.filter(username="new10").exists()


def test_guessing_tokens_is_stopped_even_for_the_right_token_from_that_address(
        client, alice_token):
    url = "/api/v1/mosaics"
    for n in range(30):
        response = client.get(url, HTTP_AUTHORIZATION=f"Token guess{n:04d}",
                              REMOTE_ADDR="192.0.2.66")
        assert response.status_code == 401
    blocked = client.get(url, HTTP_AUTHORIZATION=f"Token {alice_token}",
                         REMOTE_ADDR="192.0.2.66")
    assert_throttled(blocked)
    assert blocked.json()["error"].startswith("too many API calls with an unknown token")
    # The right token from another address, and any number of right calls, are not counted.
    for _ in range(40):
        assert client.get(url, HTTP_AUTHORIZATION=f"Token {alice_token}",
                          REMOTE_ADDR="192.0.2.67").status_code == 200


def order(client, token, address="192.0.2.80", body=ORDER):
    return client.post("/api/v1/mosaics", data=json.dumps(body),
                       content_type="application/json",
                       HTTP_AUTHORIZATION=f"Token {token}", REMOTE_ADDR=address)


def test_orders_over_the_rate_get_a_json_429_and_queue_nothing(client, alice_token, settings,
                                                                django_capture_on_commit_callbacks):
    settings.HUB_RATE_LIMITS = {"order.user": "3/m"}
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert order(client, alice_token, body={**ORDER, "bands": 5}).status_code == 400
        assert [order(client, alice_token, address=f"192.0.2.{n}").status_code
                for n in range(2)] == [201, 201]
        refused = order(client, alice_token, address="192.0.2.99")
    assert_throttled(refused)
    assert refused.json() == {"error": refused.json()["error"], "field": None}
    assert "orders placed" in refused.json()["error"]
    assert MosaicRequest.objects.count() == 2 and len(callbacks) == 2


def test_orders_through_the_form_are_counted_with_the_api(client, alice, alice_token,
                                                          settings):
    settings.HUB_RATE_LIMITS = {"order.user": "2/m"}
    assert order(client, alice_token).status_code == 201
    client.force_login(alice)
    client.post("/requests/new/", {"name": "x"})  # an invalid order counts too
    page = client.post("/requests/new/", {"name": "y"})
    assert_throttled(page)
    assert b"orders placed" in page.content
    assert MosaicRequest.objects.count() == 1


def test_time_series_are_limited_per_account_across_addresses(client, alice_token, settings,
                                                              hub_dirs):
    settings.HUB_RATE_LIMITS = {"timeseries.user": "2/m"}
    headers = {"HTTP_AUTHORIZATION": f"Token {alice_token}"}
    for n in range(2):
        ok = client.get("/api/v1/timeseries", PARAMS, REMOTE_ADDR=f"192.0.2.{n}", **headers)
        assert ok.status_code == 200
    blocked = client.get("/api/v1/timeseries", PARAMS, REMOTE_ADDR="192.0.2.9", **headers)
    assert_throttled(blocked)
    assert "time-series reads" in blocked.json()["error"]


def test_a_limit_can_be_switched_off(client, alice, settings):
    settings.HUB_RATE_LIMITS = {"login.username": "off", "login.ip": "off"}
    assert {login(client, "alice", "wrong").status_code for _ in range(60)} == {200}


@pytest.mark.services
def test_counts_on_redis_are_shared_and_a_dead_cache_lets_requests_through(
        client, alice, settings, caplog):
    url = redis_broker().rsplit("/", 1)[0] + "/3"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": url, "KEY_PREFIX": f"t{free_port()}"}}
    settings.HUB_RATE_LIMITS = {"login.username": "3/m"}
    answers = [login(client, "alice", "wrong").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    settings.CACHES = {"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        "OPTIONS": {"socket_connect_timeout": 1}}}
    assert login(client, "alice", "alice-secret-1").status_code == 302
    assert "rate limit login.username not checked" in caplog.text


@pytest.mark.parametrize(("limits", "message"), [
    ({"login.usr": "3/m"}, "names 'login.usr', not a limit"),
    ({"nothing.ip": "3/m"}, "names 'nothing.ip', not a limit"),
    ({"order.user": "3 per minute"}, "order.user='3 per minute' is not a rate"),
])
def test_the_system_check_names_a_wrong_limit(settings, limits, message):
    settings.HUB_RATE_LIMITS = limits
    with pytest.raises(SystemCheckError, match=message):
        call_command("check")


def test_weak_passwords_are_refused_at_sign_up(client, django_user_model):
    for password, reason in [("short-1", "too short"), ("12345678901234", "entirely numeric"),
                             ("password123", "too common"), ("carolinexyz", "too similar")]:
        response = client.post("/accounts/signup/", {
            "username": "carolinexyz", "email": "carolinexyz@example.org",
            "password1": password, "password2": password})
        assert response.status_code == 200
        assert reason in response.content.decode(), password
    assert not django_user_model.objects.exists()
