"""Password reset by mail (Django's views) and password change, end to end."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from hub.accounts import verification
from tests.hub.test_signup import PASSWORD, sign_up

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another-long-phrase-42"


def reset_link(mail) -> str:
    match = re.search(r"http://testserver(/accounts/password/reset/\S+/\S+/)", mail.body)
    assert match, mail.body
    return match.group(1)


def set_new_password(client, link: str, password: str = NEW_PASSWORD):
    form = client.get(link, follow=True)
    assert form.status_code == 200 and "Choose a new password" in form.content.decode()
    # Django moves the token out of the address before the form is shown.
    assert form.redirect_chain[-1][0].endswith("/set-password/")
    return client.post(form.redirect_chain[-1][0], {"new_password1": password,
                                                    "new_password2": password}, follow=True)


def test_the_login_page_links_to_the_reset(client):
    page = client.get("/accounts/login/").content.decode()
    assert 'href="/accounts/password/reset/"' in page and "Forgot your password?" in page


def test_a_forgotten_password_is_reset_through_the_mailed_link(
        client, mailoutbox, django_user_model):
    django_user_model.objects.create_user("dora", email="Dora@example.org", password=PASSWORD)
    sent = client.post("/accounts/password/reset/", {"email": "dora@EXAMPLE.org"}, follow=True)
    assert "Check your mail" in sent.content.decode()
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["Dora@example.org"] and "Reset your password" in mail.subject
    assert "Your user name, in case you forgot it: dora" in mail.body

    link = reset_link(mail)
    done = set_new_password(client, link)
    assert "Password changed" in done.content.decode()
    assert not Client().login(username="dora", password=PASSWORD)
    assert Client().login(username="dora", password=NEW_PASSWORD)
    # The link works once.
    used = client.get(link, follow=True).content.decode()
    assert "This link does not work" in used and "Ask for a new link" in used


def test_an_unknown_address_gets_the_same_page_and_no_mail(client, mailoutbox):
    page = client.post("/accounts/password/reset/", {"email": "nobody@example.org"}, follow=True)
    assert page.status_code == 200 and "Check your mail" in page.content.decode()
    assert mailoutbox == []


def test_a_tampered_reset_link_changes_nothing(client, mailoutbox, django_user_model):
    dora = django_user_model.objects.create_user("dora", email="dora@example.org",
                                                 password=PASSWORD)
    client.post("/accounts/password/reset/", {"email": "dora@example.org"})
    link = reset_link(mailoutbox[0])
    bad = link[:-3] + ("x" if link[-3] != "x" else "y") + link[-2:]
    page = client.get(bad, follow=True).content.decode()
    assert "This link does not work" in page
    dora.refresh_from_db()
    assert dora.check_password(PASSWORD)


def test_resetting_by_the_mailed_link_also_confirms_the_address(client, mailoutbox):
    sign_up(client, "erin", "erin@example.org")
    client.logout()
    client.post("/accounts/password/reset/", {"email": "erin@example.org"})
    set_new_password(client, reset_link(mailoutbox[-1]))
    from django.contrib.auth import get_user_model

    erin = get_user_model().objects.get(username="erin")
    assert verification.pending_address(erin) is None


def test_reset_requests_are_rate_limited_per_address(client, mailoutbox, django_user_model):
    django_user_model.objects.create_user("dora", email="dora@example.org", password=PASSWORD)
    for n in range(5):
        client.post("/accounts/password/reset/", {"email": "dora@example.org"},
                    REMOTE_ADDR=f"192.0.2.{n + 1}")
    refused = client.post("/accounts/password/reset/", {"email": "DORA@example.org"},
                          REMOTE_ADDR="192.0.2.99")
    assert refused.status_code == 429 and "Retry-After" in refused
    assert len(mailoutbox) == 5


def test_a_signed_in_person_changes_their_password(client, django_user_model):
    django_user_model.objects.create_user("dora", email="dora@example.org", password=PASSWORD)
    client.login(username="dora", password=PASSWORD)
    account = client.get("/accounts/").content.decode()
    assert 'href="/accounts/password/change/"' in account and "confirmed" in account
    wrong = client.post("/accounts/password/change/", {
        "old_password": "not-it", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert wrong.status_code == 200 and 'data-field="old_password"' in wrong.content.decode()
    done = client.post("/accounts/password/change/", {
        "old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True)
    assert "Password changed" in done.content.decode()
    assert client.get("/accounts/").status_code == 200  # still signed in here
    assert Client().login(username="dora", password=NEW_PASSWORD)
