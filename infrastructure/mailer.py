"""The SMTP client of the email consumer: ASSESS_SMTP_URL, else the outbox folder."""

from __future__ import annotations

import os
import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from application.settings import Settings, private_folder, write_private


class Undeliverable(Exception):
    """The email cannot be delivered, ever (a 5xx refusal, or no valid address): retrying
    cannot help. Its message names no address, as it ends up in logs and dead letters."""


class Mailer:
    """Sends over ASSESS_SMTP_URL (smtp://, smtps://, ?starttls=true), else to the outbox."""

    def __init__(self, settings: Settings) -> None:
        self.url = urlsplit(settings.smtp_url) if settings.smtp_url else None
        self.outbox = settings.outbox

    def send(self, email: EmailMessage, name: str) -> None:
        """Send one email. A failure worth retrying raises OSError (as smtplib's errors
        are); a refusal for good raises Undeliverable."""
        if self.url is None:
            private_folder(self.outbox)  # its emails hold live reviewer links
            final = self.outbox / f"{name}.eml"
            partial = final.with_suffix(".eml.partial")
            write_private(partial, bytes(email))
            os.replace(partial, final)  # the same name again on a redelivery: still one file
            return
        host, port = self.url.hostname or "127.0.0.1", self.url.port
        options = parse_qs(self.url.query)
        if self.url.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(host, port or 465, timeout=30)
        else:
            client = smtplib.SMTP(host, port or 25, timeout=30)
        with client:
            if options.get("starttls", ["false"])[0].lower() in ("1", "true", "yes"):
                client.starttls(context=ssl.create_default_context())
            if self.url.username:
                client.login(unquote(self.url.username), unquote(self.url.password or ""))
            # smtplib's errors and the server's replies may name the recipient: what is
            # raised (and so logged, and put in dead letters) keeps only the reply codes.
            try:
                client.send_message(email)
            except smtplib.SMTPRecipientsRefused as error:
                codes = sorted({code for code, _ in error.recipients.values()})
                refused = f"the SMTP server refused the recipient ({codes})"
                if all(code >= 500 for code in codes):
                    raise Undeliverable(refused) from None
                raise OSError(f"{refused}; will try again") from None
            except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
                refused = f"the SMTP server refused the message ({error.smtp_code})"
                if error.smtp_code >= 500:
                    raise Undeliverable(refused) from None
                raise OSError(f"{refused}; will try again") from None
