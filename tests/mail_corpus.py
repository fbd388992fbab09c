"""Messages as real mail clients and servers write them, built with the email package."""

from __future__ import annotations

import os
from datetime import datetime
from email import message_from_string
from email.message import EmailMessage
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime

ME = "ada@example.com"


def _base(sender: str, to: str, subject: str, when: datetime, msgid: str | None) -> EmailMessage:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = to
    m["Subject"] = subject
    m["Date"] = format_datetime(when)
    if msgid:
        m["Message-ID"] = f"<{msgid}>"
    return m


def sent(to: str, subject: str, when: datetime, msgid: str, *, cc: str | None = None) -> bytes:
    m = _base(f"Ada Lovelace <{ME}>", to, subject, when, msgid)
    if cc:
        m["Cc"] = cc
    m.set_content("Hello,\n\nI applied for the engineer role and would love to talk.\n\nAda\n")
    return bytes(m)


def gmail_reply(sender: str, subject: str, when: datetime, msgid: str, answers: str) -> bytes:
    """Gmail: multipart/alternative, In-Reply-To and References, the quote under "On ... wrote:"."""
    m = _base(sender, ME, f"Re: {subject}", when, msgid)
    m["In-Reply-To"] = f"<{answers}>"
    m["References"] = f"<{answers}>"
    text = f"Thanks Ada, let's talk next week.\n\nOn Mon, {ME} wrote:\n> Hello,\n"
    m.set_content(text)
    m.add_alternative(f"<div dir=\"ltr\">Thanks Ada, let's talk next week.</div><div class=\"gmail_quote\">"
                      f"On Mon, {ME} wrote:</div>", subtype="html")
    return bytes(m)


def outlook_reply(sender: str, subject: str, when: datetime, msgid: str) -> bytes:
    """Outlook: "RE:", Thread-Topic/Thread-Index, no threading headers to a message of ours
    (the reply is known by its sender's address)."""
    m = _base(sender, ME, f"RE: {subject}", when, msgid)
    m["Thread-Topic"] = subject
    m["Thread-Index"] = "AQHZ1234567890abcdef=="
    m["X-MS-Has-Attach"] = ""
    m.set_content("Hi Ada,\r\n\r\nThank you for reaching out.\r\n\r\n________________________________\r\nFrom: Ada")
    m.add_alternative("<html><body><p>Hi Ada,</p><p>Thank you for reaching out.</p></body></html>", subtype="html")
    return bytes(m)


# Out-of-office in six languages: (subject prefix, body, the header that marks it).
OUT_OF_OFFICE = {
    "en": ("Automatic reply", "I am out of the office and back on 15 March. For urgent matters call Bob.",
           ("Auto-Submitted", "auto-replied")),
    "de": ("Abwesenheitsnotiz", "Vielen Dank. Ich bin bis zum 20. März nicht im Büro.", ("X-Autoreply", "yes")),
    "fr": ("Réponse automatique", "Bonjour, je suis absente, de retour le 25 mars. Cordialement",
           ("Precedence", "auto_reply")),
    "es": ("Respuesta automática", "Estoy fuera de la oficina hasta el 18 de marzo. Saludos", None),
    "nl": ("Automatisch antwoord", "Ik ben afwezig tot en met 19 maart. Met vriendelijke groet", None),
    "it": ("Risposta automatica", "Sono fuori sede fino al 23 marzo. Cordiali saluti",
           ("Auto-Submitted", "auto-replied (vacation)")),
}


def out_of_office(lang: str, sender: str, subject: str, when: datetime, msgid: str, answers: str | None,
                  *, body: str | None = None) -> bytes:
    prefix, text, header = OUT_OF_OFFICE[lang]
    m = _base(sender, ME, f"{prefix}: {subject}", when, msgid)
    if answers:
        m["In-Reply-To"] = f"<{answers}>"
    if header:
        m[header[0]] = header[1]
    m.set_content(body if body is not None else text)
    return bytes(m)


def bounce(failed: str, when: datetime, msgid: str, original_id: str) -> bytes:
    """A delivery status notification (RFC 3464), as Postfix writes one."""
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = "MAILER-DAEMON@mx.example.com (Mail Delivery System)"
    report["To"] = ME
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Date"] = format_datetime(when)
    report["Message-ID"] = f"<{msgid}>"
    report["Auto-Submitted"] = "auto-replied"
    report.attach(MIMEText(f"I'm sorry to have to inform you that your message could not be delivered to "
                           f"<{failed}>: user unknown.\n"))
    # Parsed, as the generator wants it: the per-message and per-recipient field blocks.
    report.attach(message_from_string(
        "Content-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx.example.com\n\n"
        f"Final-Recipient: rfc822; {failed}\nOriginal-Recipient: rfc822;{failed}\n"
        "Action: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\n"
    ))
    wrapper = MIMEBase("text", "rfc822-headers")
    wrapper.set_payload(f"Message-ID: <{original_id}>\nTo: {failed}\n")
    report.attach(wrapper)
    return report.as_bytes()


def html_only_reply(sender: str, subject: str, when: datetime, msgid: str) -> bytes:
    m = _base(sender, ME, f"Re: {subject}", when, msgid)
    m.set_content("<html><body><p>Sounds <b>great</b>, Ada!</p></body></html>", subtype="html")
    return bytes(m)


def latin1_reply(sender: str, subject: str, when: datetime, msgid: str) -> bytes:
    """Not UTF-8: an ISO-8859-1 body, raw 8-bit, and an encoded-word subject."""
    body = "Grüße aus Köln: très bien, à bientôt.\n".encode("iso-8859-1")
    head = (f"From: {sender}\r\nTo: {ME}\r\nSubject: =?iso-8859-1?q?R=E9ponse:_{subject.replace(' ', '_')}?=\r\n"
            f"Date: {format_datetime(when)}\r\nMessage-ID: <{msgid}>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
    return head.encode("ascii") + body


def reply_with_attachment(sender: str, subject: str, when: datetime, msgid: str, megabytes: int = 20) -> bytes:
    m = _base(sender, ME, f"Re: {subject}", when, msgid)
    m.set_content("Here is the take-home exercise.")
    m.add_attachment(os.urandom(megabytes * 1024 * 1024), maintype="application", subtype="octet-stream",
                     filename="exercise.bin")
    return bytes(m)


def malformed_date(sender: str, when_text: str, msgid: str) -> bytes:
    return (f"From: {sender}\r\nTo: {ME}\r\nSubject: Re: hello\r\nDate: {when_text}\r\n"
            f"Message-ID: <{msgid}>\r\n\r\nBody\r\n").encode()


def nobody_named(msgid: str) -> bytes:
    """No readable address at all: skipped with a reason, never a stop."""
    return (f"From: =?utf-8?q?broken\r\nTo: undisclosed-recipients:;\r\nSubject: =?x-unknown?b?////?=\r\n"
            f"Date: yesterday-ish\r\nMessage-ID: <{msgid}>\r\n\r\nBody\r\n").encode()


def unrelated(n: int, when: datetime) -> bytes:
    m = _base(f"Newsletter <news{n}@shop.example>", ME, f"Deals of the week {n}", when, f"news{n}@shop.example")
    m.set_content("Buy things.")
    return bytes(m)
