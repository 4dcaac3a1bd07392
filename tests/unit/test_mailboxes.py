"""The one check of email addresses says why an address is refused, never the address."""

from __future__ import annotations

import re

import pytest

from infrastructure.mailboxes import mailbox


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("a@localhost", "The part after the @-sign is not valid. It should have a period."),
        ("a..b@example.org", "An email address cannot have two periods in a row."),
        # email_validator takes an internationalised local part; the mailer's header cannot.
        ("é@example.org", "it is not one mailbox"),
    ],
)
def test_a_refused_address_gets_the_reason(address: str, reason: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(reason)}$"):
        mailbox(address)


def test_an_address_of_one_mailbox_is_that_mailbox() -> None:
    assert str(mailbox("ada.lovelace+cs@example.org")) == "ada.lovelace+cs@example.org"
