"""API tokens in the user area: the key is shown once, works on the API, and revoking ends it."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from hub.accounts.models import ApiToken, hash_key

pytestmark = pytest.mark.django_db


def api(client, key):
    return client.get("/api/v1/mosaics", HTTP_AUTHORIZATION=f"Token {key}")


def create(client, name="laptop"):
    response = client.post("/accounts/tokens/", {"name": name})
    match = re.search(r'id="new-token-key"[^>]*value="([0-9a-f]+)"', response.content.decode())
    return response, match.group(1) if match else None


def test_a_new_key_is_shown_once_and_authenticates_the_api(client, alice):
    client.force_login(alice)
    response, key = create(client)
    assert response.status_code == 201 and key
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(user=alice)
    assert token.name == "laptop" and token.key_hash == hash_key(key) and token.prefix == key[:8]
    called = timezone.now()
    assert api(client, key).status_code == 200
    listing = client.get("/accounts/tokens/").content.decode()
    assert key not in listing and "laptop" in listing and f"{key[:8]}…" in listing
    token.refresh_from_db()
    assert called <= token.last_used_at <= timezone.now()


def test_a_revoked_token_gets_401(client, alice):
    client.force_login(alice)
    _, kept = create(client, "kept")
    _, revoked = create(client, "old script")
    token = ApiToken.objects.get(name="old script")
    assert client.get(f"/accounts/tokens/{token.pk}/revoke/").status_code == 405
    response = client.post(f"/accounts/tokens/{token.pk}/revoke/", follow=True)
    assert "old script" in response.content.decode() and "revoked" in response.content.decode()
    refused = api(client, revoked)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid API token"
    assert api(client, kept).status_code == 200


def test_revoking_needs_the_csrf_token_and_the_owner(client, alice, bob):
    token, key = ApiToken.issue(alice, "alices")
    strict = type(client)(enforce_csrf_checks=True)
    strict.force_login(alice)
    assert strict.post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 403
    client.force_login(bob)
    assert client.post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 404
    assert "alices" not in client.get("/accounts/tokens/").content.decode()
    assert api(client, key).status_code == 200


def test_a_token_needs_a_name_and_the_page_a_login(client, alice):
    assert client.get("/accounts/tokens/").status_code == 302
    client.force_login(alice)
    response, key = create(client, "   ")
    assert response.status_code == 400 and key is None
    assert re.search(r'class="error" data-field="name"', response.content.decode())
    assert not ApiToken.objects.exists()
