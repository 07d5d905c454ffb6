"""Light registration: an account from a user name and a password, then signed in."""

import pytest

pytestmark = pytest.mark.django_db


def test_a_person_registers_and_is_signed_in(client, django_user_model):
    response = client.post("/accounts/signup/", {
        "username": "carol", "password1": "a-long-pass-phrase-9", "password2":
        "a-long-pass-phrase-9", "next": "/catalogue/"})
    assert response.status_code == 302 and response["Location"] == "/catalogue/"
    assert django_user_model.objects.filter(username="carol").exists()
    assert client.get("/requests/").status_code == 200


def test_registration_errors_change_nothing(client, django_user_model):
    response = client.post("/accounts/signup/", {"username": "dave", "password1": "x",
                                                 "password2": "y"})
    assert response.status_code == 200 and b"error" in response.content
    assert not django_user_model.objects.filter(username="dave").exists()


def test_next_never_leaves_the_site(client):
    response = client.post("/accounts/signup/", {
        "username": "erin", "password1": "a-long-pass-phrase-9",
        "password2": "a-long-pass-phrase-9", "next": "https://evil.example/"})
    assert response["Location"] == "/"
