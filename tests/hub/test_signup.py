"""Registration: an account from a user name, an e-mail address and a password, then signed
in (the address is verified by mail: tests/hub/test_email_verification.py)."""

import pytest

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-pass-phrase-9"


def sign_up(client, username, email, **extra):
    return client.post("/accounts/signup/", {"username": username, "email": email,
                                             "password1": PASSWORD, "password2": PASSWORD,
                                             **extra})


def test_a_person_registers_and_is_signed_in(client, django_user_model):
    response = sign_up(client, "carol", "Carol@Example.ORG", next="/catalogue/")
    assert response.status_code == 302 and response["Location"] == "/catalogue/"
    carol = django_user_model.objects.get(username="carol")
    assert carol.email == "Carol@example.org"  # the domain's case does not matter, the name's may
    assert client.get("/requests/").status_code == 200


def test_registration_errors_change_nothing(client, django_user_model, mailoutbox):
    response = client.post("/accounts/signup/", {"username": "dave", "email": "dave@example.org",
                                                 "password1": "x", "password2": "y"})
    assert response.status_code == 200 and b"error" in response.content
    assert not django_user_model.objects.filter(username="dave").exists()
    assert mailoutbox == []


def test_the_address_is_required(client, django_user_model):
    response = sign_up(client, "dave", "")
    assert response.status_code == 200
    assert 'data-field="email"' in response.content.decode()
    assert not django_user_model.objects.filter(username="dave").exists()


@pytest.mark.parametrize("taken", ["erin@example.org", "ERIN@EXAMPLE.ORG", " Erin@example.org"])
def test_an_address_taken_in_any_case_is_a_form_error(client, django_user_model, taken):
    django_user_model.objects.create_user("erin", email="erin@example.org", password=PASSWORD)
    response = sign_up(client, "erin2", taken)
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-field="email"' in page and "exists already" in page
    assert not django_user_model.objects.filter(username="erin2").exists()


def test_next_never_leaves_the_site(client):
    response = sign_up(client, "erin", "erin@example.org", next="https://evil.example/")
    assert response["Location"] == "/"
