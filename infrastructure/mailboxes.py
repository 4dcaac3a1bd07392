"""Email addresses: one check of what a mailer can send to, used at the API's boundary and
by the email consumer alike (so nothing the API accepts is refused later by the mailer)."""

from __future__ import annotations

from email.errors import HeaderParseError
from email.headerregistry import Address

from email_validator import EmailNotValidError, validate_email


def mailbox(address: str) -> Address:
    """The one mailbox an address names: ValueError (saying why, never the address) if it
    is not one a mailer delivers to: a list, a display name, angle brackets, a quoted or
    malformed local part, a domain that is malformed, an IP literal or a special-use name
    (`.local`, `.test`, `localhost`...). No DNS lookup is made."""
    try:
        validate_email(address, check_deliverability=False)
        return Address(addr_spec=address)
    except EmailNotValidError as error:
        raise ValueError(str(error)) from None
    except (ValueError, IndexError, HeaderParseError):
        raise ValueError("it is not one mailbox") from None
