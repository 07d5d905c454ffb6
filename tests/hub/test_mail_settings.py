"""Mail settings from the environment: the embedded default writes each mail to a file under
the state folder; with EMAIL_HOST the hub speaks SMTP (a real server on loopback here) with the
port, account, TLS and sender the environment gives."""

from __future__ import annotations

import json

import pytest
from django.core.management.utils import get_random_secret_key

from tests.hub.test_settings_env import run_settings
from tests.smtpserver import smtp_serving

SEND = ("from django.core.mail import send_mail\n"
        "send_mail('Hello from the hub', 'A body.', None, ['carol@example.org'])\n")
PRINT_MAIL = ("import json; from django.conf import settings\n"
              "print(json.dumps({n: getattr(settings, n, None) for n in ('EMAIL_BACKEND', "
              "'EMAIL_FILE_PATH', 'EMAIL_HOST', 'EMAIL_PORT', 'EMAIL_USE_TLS', 'EMAIL_USE_SSL', "
              "'DEFAULT_FROM_EMAIL', 'EMAIL_TIMEOUT')}))")


def production(**env: str) -> dict[str, str]:
    return {"DEBUG": "0", "SECRET_KEY": get_random_secret_key(), **env}


def test_without_a_mail_server_each_mail_is_a_file_in_the_state_folder(tmp_path):
    proc = run_settings(PRINT_MAIL + "\n" + SEND, tmp_path,
                        **production(HUB_CONTACT_EMAIL="ops@example.org"))
    assert proc.returncode == 0, proc.stderr
    chosen = json.loads(proc.stdout.splitlines()[0])
    assert chosen["EMAIL_BACKEND"] == "django.core.mail.backends.filebased.EmailBackend"
    assert chosen["EMAIL_FILE_PATH"] == str(tmp_path / "state" / "mail")
    files = list((tmp_path / "state" / "mail").iterdir())
    assert len(files) == 1
    text = files[0].read_text()
    assert "Subject: Hello from the hub" in text and "To: carol@example.org" in text
    assert "From: ops@example.org" in text and "A body." in text


# With TLS from the start aiosmtpd warns that AUTH does not need its own STARTTLS: it need not.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("tls,flag,port", [("starttls", "EMAIL_USE_TLS", 587),
                                           ("ssl", "EMAIL_USE_SSL", 465)])
def test_with_a_mail_server_the_hub_sends_through_it_with_the_environments_account(
        tmp_path, tls, flag, port):
    with smtp_serving(tmp_path, tls=tls, account=("hub-mailer", "s3cret-pass")) as server:
        env = production(EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(server.port), **{flag: "1"},
                         EMAIL_HOST_USER="hub-mailer", EMAIL_HOST_PASSWORD="s3cret-pass",
                         HUB_CONTACT_EMAIL="ops@example.org",
                         SSL_CERT_FILE=str(server.cert))  # trust the test server's certificate
        proc = run_settings(SEND, tmp_path, **env)
        assert proc.returncode == 0, proc.stderr
        [mail] = server.received
        assert mail.login == "hub-mailer"
        assert mail.mail_from == "ops@example.org" and mail.rcpt_tos == ["carol@example.org"]
        assert mail.message["Subject"] == "Hello from the hub"

        wrong = run_settings(SEND, tmp_path, **{**env, "EMAIL_HOST_PASSWORD": "guess"})
        assert wrong.returncode != 0 and "SMTPAuthenticationError" in wrong.stderr
        assert len(server.received) == 1
        assert not (tmp_path / "state" / "mail").exists()  # nothing fell back to files
    del env["EMAIL_PORT"]
    defaults = json.loads(run_settings(PRINT_MAIL, tmp_path, **env).stdout)
    assert defaults["EMAIL_PORT"] == port


def test_the_sender_and_a_plain_server_come_from_the_environment(tmp_path):
    with smtp_serving(tmp_path) as server:
        env = production(EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(server.port),
                         DEFAULT_FROM_EMAIL="Mosaic Hub <no-reply@hub.example.org>",
                         EMAIL_TIMEOUT="3")
        proc = run_settings(PRINT_MAIL + "\n" + SEND, tmp_path, **env)
        assert proc.returncode == 0, proc.stderr
        chosen = json.loads(proc.stdout.splitlines()[0])
        assert chosen["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
        assert (chosen["EMAIL_PORT"], chosen["EMAIL_TIMEOUT"]) == (server.port, 3)
        assert server.received[0].mail_from == "no-reply@hub.example.org"
        assert server.received[0].message["From"] == "Mosaic Hub <no-reply@hub.example.org>"


@pytest.mark.parametrize("env,message", [
    ({"EMAIL_USE_TLS": "1", "EMAIL_USE_SSL": "1"}, "exclude each other"),
    ({"EMAIL_PORT": "smtp"}, "EMAIL_PORT='smtp' is not an integer"),
    ({"EMAIL_USE_TLS": "sometimes"}, "EMAIL_USE_TLS='sometimes' is not a boolean"),
])
def test_mail_settings_that_cannot_work_stop_the_start(tmp_path, env, message):
    proc = run_settings("", tmp_path, **production(EMAIL_HOST="mail.example.org", **env))
    assert proc.returncode != 0 and message in proc.stderr
