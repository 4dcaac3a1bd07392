"""Result emails: one per submit, over SMTP or as .eml files in an outbox folder. Each
address and name comes from the PersonalData port as the email is sent: none once the
person's data is erased, and then no email goes."""

from __future__ import annotations

import html
import logging
import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from functools import cached_property
from typing import Any
from uuid import UUID

import msgspec
from opentelemetry.trace import SpanKind

from application.access import credential_key, reviewer_key, reviewer_token
from application.credentials import page_url
from application.ports import Contacts
from application.results import AttemptResult, Scoring
from application.settings import Settings
from consumers.known_records import KnownRecords
from consumers.sent import SentLog
from domain.credentials import credential_id
from domain.values import Contact
from infrastructure.mailboxes import mailbox
from infrastructure.mailer import Mailer, Undeliverable
from infrastructure.tracing import span, tracer_for

log = logging.getLogger("assess.emails")

# Control characters (C0, DEL, C1) and every kind of line break or space, in runs.
BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\s]+")


def one_line(text: str) -> str:
    """A stored name as one line: a stored event may hold what the API refuses today, and a
    line break in a header value would end the header or start a new one (an injection)."""
    return BREAKS.sub(" ", text).strip()


def deliverable(address: str) -> Address:
    """The one mailbox a stored address names (not a list, not a header): the API's check
    (a stored event may hold what the API refuses today)."""
    try:
        return mailbox(one_line(address))
    except ValueError:
        raise Undeliverable("the email address is not one valid mailbox") from None


def letter(message: dict[str, Any], sender: str, to: str, subject: str) -> EmailMessage:
    """An email about an event, to one mailbox. Its Message-ID is derived from the event:
    a redelivered event makes the same message, not a new one."""
    email = EmailMessage()
    email["Subject"] = subject
    email["From"] = sender
    email["To"] = deliverable(to)
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = f"<{message['id']}@assess>"
    return email


def credential_links(
    message: dict[str, Any], public_url: str, id_key: bytes
) -> list[tuple[str, str]]:
    """Each verified skill of a score or an endorsement, with the address of its
    credential's page (known before the credential is issued: its id follows from the
    record and the skill)."""
    record_id = UUID(message["recordVerificationId"][-32:])
    return [
        (
            one_line(skill["name"]),
            page_url(public_url, credential_id(id_key, record_id, skill["skillId"])),
        )
        for skill in message["data"]["skills"]
        if skill["status"] == "verified"
    ]


def with_credentials(
    email: EmailMessage, lines: list[str], html_body: str, links: list[tuple[str, str]]
) -> EmailMessage:
    """The email's text and HTML, and the links to the credentials of its verified skills."""
    if links:
        lines = [
            *lines,
            "",
            "Your verified skills as credentials (Open Badges 3.0), to show anyone:",
            *(f"- {name}: {url}" for name, url in links),
        ]
        items = "".join(
            f'<li><a href="{html.escape(url)}">{html.escape(name)}</a></li>' for name, url in links
        )
        html_body += (
            "<p>Your verified skills as credentials (Open Badges 3.0), to show anyone:</p>"
            f"<ul>{items}</ul>"
        )
    email.set_content("\n".join(lines))
    email.add_alternative(html_body, subtype="html")
    return email


def result_email(
    message: dict[str, Any], to: Contact, sender: str, links: list[tuple[str, str]]
) -> EmailMessage:
    """The email of one scored attempt, in plain text and HTML, with the links to the
    credentials of the skills it verified."""
    data = message["data"]
    names = [one_line(skill["name"]) for skill in data["skills"]]
    skills = ", ".join(names)
    student = one_line(to.name)
    outcome = "passed" if data["passed"] else "not passed"
    words = AttemptResult.of(msgspec.convert(data, Scoring)).message
    subject = f"{skills}: {outcome}, score {data['score']}%"
    email = letter(message, sender, to.email, subject)
    statuses = [(name, skill["status"]) for name, skill in zip(names, data["skills"], strict=True)]
    lines = [
        f"Hello {student},",
        "",
        f"Your assessment of {skills} (attempt {data['attemptNumber']}) is scored:"
        f" {data['correctAnswers']} of {data['totalQuestions']} right, {data['score']}%.",
        words,
        "",
        *(f"- {name}: {status}" for name, status in statuses),
    ]
    items = "".join(
        f"<li>{html.escape(name)}: {html.escape(status)}</li>" for name, status in statuses
    )
    html_body = (
        f"<p>Hello {html.escape(student)},</p>"
        f"<p>Your assessment of {html.escape(skills)} (attempt {data['attemptNumber']}) is"
        f" scored: {data['correctAnswers']} of {data['totalQuestions']} right,"
        f" <strong>{data['score']}%</strong>.</p><p>{html.escape(words)}</p><ul>{items}</ul>"
    )
    return with_credentials(email, lines, html_body, links)


def invitation_email(
    message: dict[str, Any],
    to: Contact,
    student: Contact,
    sender: str,
    link: str,
    skills: list[str],
    asker: str,
) -> EmailMessage:
    """The reviewer's invitation: who asks (the student, through the tenant named `asker`),
    which skills, the link, until when, and what is shared with the tenant (the subject line
    names the skills only: it is kept in the sent log, which holds no personal data)."""
    data = message["data"]
    reviewer = one_line(to.name)
    student_name = one_line(student.name)
    organisation = one_line(asker)
    names = ", ".join(one_line(name) for name in skills)
    until = data["expiresAt"][:10]
    shared = (
        f"Your name, company and the skills you endorse are shared with {organisation}"
        f" and {student_name}."
    )
    email = letter(message, sender, to.email, f"Endorsement request: {names}")
    email.set_content(
        f"Hello {reviewer},\n\n{student_name} asks you, through {organisation}, to endorse"
        f" skills you saw in their work: {names}.\n\nOpen this link to review and endorse"
        f" them (until {until}):\n{link}\n\n{shared}\n"
        "The link is for you only. If you do not know the student, ignore this email.\n",
        cte="8bit",  # the link on one line, as it is (quoted-printable would wrap it)
    )
    email.add_alternative(
        f"<p>Hello {html.escape(reviewer)},</p><p>{html.escape(student_name)} asks you,"
        f" through {html.escape(organisation)}, to endorse skills you saw in their work:"
        f" {html.escape(names)}.</p>"
        f'<p><a href="{html.escape(link)}">Review and endorse the skills</a>'
        f" (until {html.escape(until)}).</p><p>{html.escape(shared)}</p>"
        "<p>The link is for you only. If you do not know the student, ignore this email.</p>",
        subtype="html",
    )
    return email


def endorsed_email(
    message: dict[str, Any],
    to: Contact,
    reviewer: Contact | None,
    sender: str,
    links: list[tuple[str, str]],
) -> EmailMessage:
    """The student's confirmation: who endorsed them (their name and company, as invited),
    which skills, and the links to their credentials."""
    data = message["data"]
    student = one_line(to.name)
    company = f" ({one_line(data['company'])})" if data.get("company") else ""
    who = f"{one_line(reviewer.name)}{company}" if reviewer else "Your reviewer"
    statuses = [(one_line(skill["name"]), skill["status"]) for skill in data["skills"]]
    verified = [name for name, status in statuses if status == "verified"]
    email = letter(message, sender, to.email, f"Endorsed: {', '.join(verified)}")
    lines = [
        f"Hello {student},",
        "",
        f"{who} endorsed your work; the endorsement is recorded:",
        *(f"- {name}: {status}" for name, status in statuses),
    ]
    items = "".join(f"<li>{html.escape(n)}: {html.escape(st)}</li>" for n, st in statuses)
    html_body = (
        f"<p>Hello {html.escape(student)},</p>"
        f"<p>{html.escape(who)} endorsed your work; the endorsement is recorded:</p>"
        f"<ul>{items}</ul>"
    )
    return with_credentials(email, lines, html_body, links)


class Emails:
    """Sends each email an event calls for once (the sent log dedupes on the event id): a
    score's result and an endorsement's confirmation to the student, an invitation to the
    reviewer, with the link to the review page; none to a person whose data is erased."""

    def __init__(
        self,
        sent: SentLog,
        settings: Settings,
        contacts: Contacts,
        known: KnownRecords,
        mailer: Mailer,
    ) -> None:
        self.sent = sent
        self.known = known
        self.contacts = contacts
        self.sender = settings.mail_from
        self.mailer = mailer
        self.settings = settings
        self.tracer = tracer_for(settings)

    def handle(self, message: dict[str, Any]) -> None:
        """Learn the record if the event starts it; send the email it calls for, unless
        already done or its recipient's data is erased."""
        self.known.learn(message)
        if message["type"] not in ("Scored", "ReviewerInvited", "SkillsEndorsed"):
            return
        if self.sent.was_sent(message["id"]):
            return
        email = self.compose(message)
        about = f"{message['type']} email for {message['id']} of {message['recordVerificationId']}"
        if email is None:
            log.info("%s not sent: the personal data is erased", about)
            return
        attributes = {"assess.event.id": message["id"], "assess.event.type": message["type"]}
        with span(self.tracer, "send email", SpanKind.CLIENT, attributes):
            self.mailer.send(email, message["id"])
        self.sent.add(message["id"], str(email["Subject"]), formatdate(localtime=False))
        log.info("%s sent", about)

    @cached_property
    def link_key(self) -> bytes:
        """The key reviewer links are derived under (from the master key, read once)."""
        return reviewer_key(self.settings.master_secret())

    @cached_property
    def credential_key(self) -> bytes:
        """The key credentials' ids are derived under (from the master key, read once)."""
        return credential_key(self.settings.master_secret())

    def compose(self, message: dict[str, Any]) -> EmailMessage | None:
        """The email of an event that calls for one (None if its recipient is erased)."""
        facts = self.known.facts(message)  # LookupError if it never started on the topic
        record_id = UUID(message["recordVerificationId"][-32:])
        student = self.contacts.contact(record_id, 1)
        if student is None:
            return None
        links = (
            credential_links(message, self.settings.public_url, self.credential_key)
            if message["type"] in ("Scored", "SkillsEndorsed")
            else []
        )
        if message["type"] == "Scored":
            return result_email(message, student, self.sender, links)
        if message["type"] == "SkillsEndorsed":
            reviewer = self.contacts.reviewer(record_id, message["data"]["invitation"])
            return endorsed_email(message, student, reviewer, self.sender, links)
        reviewer = self.contacts.contact(record_id, message["version"])
        if reviewer is None:
            return None
        token = reviewer_token(self.link_key, record_id, message["data"]["invitation"])
        link = f"{self.settings.public_url.rstrip('/')}/review/{token}"
        asker = self.contacts.asked_by(record_id, message["version"]) or facts.tenant
        return invitation_email(
            message, reviewer, student, self.sender, link, facts.skill_names, asker
        )
