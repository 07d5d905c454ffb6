"""A new person in a real headless Chromium: registers, reads the verification mail the hub
wrote to its mail folder (the embedded default: no mail server), confirms the address, forgets
the password, resets it by the mailed link and signs in with the new one.

Screenshots go to test-artifacts/60-… to 64-… (look at them).
"""

from __future__ import annotations

import email
import re
from email.message import Message
from pathlib import Path

import pytest

from tests.browser.chromium import shot
from tests.hubstack import running_hub, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.heavy]

PASSWORD = "first-long-phrase-71"
NEW_PASSWORD = "second-long-phrase-93"


def mails(folder: Path) -> list[Message]:
    """The mails the hub's file backend wrote, oldest first."""
    files = sorted(folder.glob("*.log"), key=lambda f: f.stat().st_mtime_ns)
    return [email.message_from_bytes(f.read_bytes()) for f in files]


def link(mail: Message, path: str) -> str:
    body = mail.get_payload(decode=True).decode()
    match = re.search(rf"http://\S+{re.escape(path)}\S*", body)
    assert match, body
    return match.group(0)


def test_a_person_registers_confirms_the_address_and_resets_the_password(
        browser, tmp_path, demo_archive):
    with running_hub("embedded", tmp_path, demo_archive) as hub:
        folder = Path(hub["env"]["HUB_STATE_DIR"]) / "mail"
        page = browser.new_page(viewport={"width": 1100, "height": 760})
        page.goto(hub["base"] + "/accounts/signup/?next=/accounts/tokens/")
        page.fill("#id_username", "nora")
        page.fill("#id_email", "nora@example.org")
        page.fill("#id_password1", PASSWORD)
        page.fill("#id_password2", PASSWORD)
        shot(page, "60-register")
        page.click("main button[type=submit]")

        # Signed in, but the address is not confirmed: the page says so and holds back tokens.
        page.wait_for_url("**/accounts/tokens/")
        assert "Welcome, nora! Your account is ready." in page.text_content("main")
        assert "We mailed a link to nora@example.org" in page.text_content(".verify-banner")
        assert page.locator("#token-unverified").is_visible()
        assert page.locator("text=Create token").count() == 0
        shot(page, "61-unconfirmed-address")

        [welcome] = mails(folder)
        assert welcome["To"] == "nora@example.org"
        confirm = link(welcome, "/accounts/verify/")
        assert confirm.startswith(hub["base"] + "/")  # the host the browser used
        page.goto(confirm)
        assert page.locator("h1").text_content() == "Address confirmed"
        assert page.locator(".verify-banner").count() == 0
        shot(page, "62-address-confirmed")
        page.goto(hub["base"] + "/requests/new/")
        assert page.locator(".order-bar button[type=submit]").is_enabled()

        page.click("header button:has-text('Log out')")
        page.wait_for_url(hub["base"] + "/")
        page.goto(hub["base"] + "/accounts/login/")
        page.click("text=Forgot your password?")
        page.fill("#id_email", "NORA@example.org")
        page.click("main button[type=submit]")
        page.wait_for_selector("h1:has-text('Check your mail')")
        wait_for(lambda: len(mails(folder)) == 2, 30)
        reset = mails(folder)[1]
        assert "Reset your password" in reset["Subject"]
        page.goto(link(reset, "/accounts/password/reset/"))
        page.wait_for_url("**/set-password/")
        page.fill("#id_new_password1", NEW_PASSWORD)
        page.fill("#id_new_password2", NEW_PASSWORD)
        shot(page, "63-choose-new-password")
        page.click("main button[type=submit]")
        page.wait_for_selector("h1:has-text('Password changed')")

        page.click("main a:has-text('Log in')")
        page.fill("#id_username", "nora")
        page.fill("#id_password", PASSWORD)
        page.click("main button[type=submit]")
        page.locator("main .error").wait_for()  # the old password is gone
        assert "correct username and password" in page.text_content("main .error")
        page.fill("#id_password", NEW_PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url("**/requests/")
        page.click("header a:has-text('Account')")
        assert page.text_content("#address-status").strip() == "confirmed"
        shot(page, "64-signed-in-account")
