"""E-mail verification of self-registered accounts: the mailed link confirms the address; bad,
expired or tampered links change nothing; an unconfirmed account looks around but cannot order
or create API tokens; accounts made any other way are verified."""

from __future__ import annotations

import json
import re
import time

import pytest
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.management import call_command

from hub.accounts import verification
from hub.accounts.models import ApiToken, UnverifiedAddress
from hub.mosaics.forms import OrderForm
from hub.mosaics.models import MosaicRequest
from tests.hub.test_signup import sign_up

pytestmark = pytest.mark.django_db

ORDER = {"name": "first", "aoi": [-7.6, 53.2, -7.55, 53.23], "period": "month",
         "start": "2023-06-01", "resolution": 60, "crs": "EPSG:32629", "format": "GTiff",
         "bands": ["B04"]}


def link_in(mail) -> str:
    match = re.search(r"https?://\S+/accounts/verify/\S+/", mail.body)
    assert match, mail.body
    return match.group(0)


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def order_by_api(client):
    return client.post("/api/v1/mosaics", data=json.dumps(ORDER),
                       content_type="application/json")


@pytest.fixture
def carol(client, mailoutbox, settings):
    """A person who has just signed up through the page (signed in, address unconfirmed)."""
    settings.ALLOWED_HOSTS = ["hub.example.org"]
    client.defaults["HTTP_HOST"] = "hub.example.org"  # the host the person's browser names
    response = sign_up(client, "carol", "carol@example.org")
    assert response.status_code == 302
    return get_user_model().objects.get(username="carol")


def test_sign_up_mails_a_link_on_the_requests_host_that_confirms_the_address(
        client, carol, mailoutbox, settings):
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["carol@example.org"] and mail.from_email == settings.DEFAULT_FROM_EMAIL
    assert "Confirm your e-mail address" in mail.subject
    link = link_in(mail)
    assert link.startswith("http://hub.example.org/accounts/verify/")
    assert verification.pending_address(carol) == "carol@example.org"

    page = client.get(path_of(link))
    assert page.status_code == 200 and 'data-outcome="verified"' in page.content.decode()
    assert verification.pending_address(carol) is None
    again = client.get(path_of(link))
    assert again.status_code == 200 and 'data-outcome="already"' in again.content.decode()


def test_the_link_works_in_another_browser_without_signing_in(carol, mailoutbox, settings):
    from django.test import Client

    page = Client(HTTP_HOST="hub.example.org").get(path_of(link_in(mailoutbox[0])))
    assert page.status_code == 200 and "Log in to order" in page.content.decode()
    assert verification.pending_address(carol) is None


def tampered(token: str) -> str:
    value, stamp, signature = token.rsplit(":", 2)
    return f"{value}:{stamp}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}"


def test_a_tampered_or_foreign_token_gives_a_clear_page_and_changes_nothing(
        client, carol, mailoutbox, alice):
    token = path_of(link_in(mailoutbox[0])).rstrip("/").rsplit("/", 1)[1]
    other_user = signing.TimestampSigner(salt=verification.SALT).sign_object(
        {"user": alice.pk, "email": "carol@example.org"})
    wrong_salt = signing.TimestampSigner(salt="elsewhere").sign_object(
        {"user": carol.pk, "email": "carol@example.org"})
    for bad in (tampered(token), token[:-5], "nonsense", other_user, wrong_salt):
        page = client.get(f"/accounts/verify/{bad}/")
        assert page.status_code == 400, bad
        text = page.content.decode()
        assert 'data-outcome="invalid"' in text and "Nothing was changed" in text
        assert "Send the link again" in text  # carol is signed in: the way out is on the page
    assert verification.pending_address(carol) == "carol@example.org"


def test_an_expired_link_says_so_and_changes_nothing(client, carol, settings, monkeypatch):
    # A link made longer ago than it lives: the signer's clock set back, the check's is now.
    made = time.time() - (settings.HUB_VERIFICATION_DAYS * 86400 + 60)
    monkeypatch.setattr(signing.time, "time", lambda: made)
    token = verification.make_token(carol)
    monkeypatch.undo()
    page = client.get(f"/accounts/verify/{token}/")
    assert page.status_code == 400
    text = page.content.decode()
    assert 'data-outcome="expired"' in text and "has expired" in text
    assert f"{settings.HUB_VERIFICATION_DAYS} days" in text
    assert verification.pending_address(carol) == "carol@example.org"


def test_a_link_for_an_address_since_changed_does_not_confirm_the_new_one(
        client, carol, mailoutbox):
    link = link_in(mailoutbox[0])
    carol.email = "someone-else@example.org"
    carol.save()
    page = client.get(path_of(link))
    assert page.status_code == 400
    assert verification.pending_address(carol) == "someone-else@example.org"


def test_an_unconfirmed_account_looks_around_but_cannot_order(client, carol, hub_dirs):
    for page in ("/requests/", "/catalogue/", "/timeseries/", "/accounts/"):
        assert client.get(page).status_code == 200, page
    form_page = client.get("/requests/new/").content.decode()
    assert "Confirm your e-mail address." in form_page and "Send the link again" in form_page
    assert re.search(r'<button type="submit" disabled[^>]*>Order mosaic', form_page)

    refused = order_by_api(client)
    assert refused.status_code == 403
    assert refused.json()["error"].startswith("confirm your e-mail address before ordering")
    assert "carol@example.org" in refused.json()["error"]
    documented = client.get("/api/v1/openapi.json").json()
    assert "403" in documented["paths"]["/mosaics"]["post"]["responses"]

    data = {name: field.initial for name, field in OrderForm().fields.items()
            if field.initial is not None}
    data.update(aoi=",".join(map(str, ORDER["aoi"])), start="2023-06-01", resolution="60",
                bands=["B04"], name="by-form")
    page = client.post("/requests/new/", data)
    assert page.status_code == 200
    assert "confirm your e-mail address before ordering" in page.content.decode()
    assert MosaicRequest.objects.count() == 0


def test_once_confirmed_the_account_orders(client, carol, mailoutbox, hub_dirs,
                                           django_capture_on_commit_callbacks):
    client.get(path_of(link_in(mailoutbox[0])))
    with django_capture_on_commit_callbacks(execute=False):
        response = order_by_api(client)
    assert response.status_code == 201, response.content
    assert MosaicRequest.objects.get().owner == carol


def test_an_unconfirmed_account_gets_no_api_token(client, carol):
    page = client.get("/accounts/tokens/").content.decode()
    assert 'id="token-unverified"' in page and "Create token" not in page
    refused = client.post("/accounts/tokens/", {"name": "laptop"})
    assert refused.status_code == 403
    assert not ApiToken.objects.filter(user=carol).exists()


def test_resending_mails_a_new_link_and_is_rate_limited(client, carol, mailoutbox):
    for _ in range(5):
        response = client.post("/accounts/verify/resend/", {"next": "/requests/"})
        assert response.status_code == 302 and response["Location"] == "/requests/"
    assert len(mailoutbox) == 6 and all(m.to == ["carol@example.org"] for m in mailoutbox)
    refused = client.post("/accounts/verify/resend/")
    assert refused.status_code == 429 and "Retry-After" in refused
    assert "Too many verification mails" in refused.content.decode()
    assert len(mailoutbox) == 6
    # Every link mailed works until it expires, the first as the last.
    page = client.get(path_of(link_in(mailoutbox[0])))
    assert 'data-outcome="verified"' in page.content.decode()


def test_a_confirmed_account_is_told_so_when_it_asks_again(client, alice, mailoutbox):
    client.force_login(alice)
    response = client.post("/accounts/verify/resend/", follow=True)
    assert "confirmed already" in response.content.decode() and mailoutbox == []


def test_a_mail_server_that_refuses_leaves_the_account_made_and_says_what_to_do(
        client, settings, django_user_model):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    response = sign_up(client, "frank", "frank@example.org", next="/requests/")
    assert response.status_code == 302
    page = client.get("/requests/").content.decode()
    assert "We could not send the mail just now" in page and "Send the link again" in page
    frank = django_user_model.objects.get(username="frank")
    assert verification.pending_address(frank) == "frank@example.org"


def test_accounts_made_any_other_way_are_verified(alice, django_user_model, capsys):
    """The operator's accounts and those from before sign-up asked for an address: no row,
    no data migration, nothing to confirm."""
    call_command("create_demo_user")
    call_command("createsuperuser", "--noinput", "--username", "root",
                 "--email", "root@example.org")
    assert "demo account created" in capsys.readouterr().out
    for user in django_user_model.objects.all():
        assert verification.pending_address(user) is None, user
        verification.require_verified(user)
    assert UnverifiedAddress.objects.count() == 0
