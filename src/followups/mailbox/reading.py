"""What a message says, read from its headers (and, for an out-of-office or a bounce, the
start of its body): pure functions over the standard library's email package."""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime

KEY_MAX = 255  # mail_message.message_id


class Malformed(ValueError):
    """A message the sync cannot read: skipped, with this reason logged."""


@dataclass(frozen=True)
class Mail:
    message_id: str
    in_reply_to: str | None
    references: tuple[str, ...]
    sender: str | None  # the From address, lower-cased
    recipients: tuple[str, ...]  # To, Cc and Bcc, lower-cased
    subject: str
    date: datetime  # the Date header, else the server's arrival time
    auto_reply: bool
    report: bool  # multipart/report; report-type=delivery-status (RFC 3464)
    bcc: tuple[str, ...] = ()  # lower-cased
    to_names: tuple[tuple[str, str], ...] = ()  # (address, display name) of each To

    def bcc_followups(self) -> bool:
        """A Bcc to followups@anything or to an address+followups@…"""
        return any(a.split("@", 1)[0].split("+")[-1] == "followups" for a in self.bcc)

    @property
    def ids_named(self) -> tuple[str, ...]:
        """The messages this one answers (In-Reply-To, then References, newest first)."""
        named = ((self.in_reply_to,) if self.in_reply_to else ()) + tuple(reversed(self.references))
        return tuple(dict.fromkeys(named))


_ID = re.compile(r"<([^<>\s]+)>")


def _key(value: str) -> str:
    value = value.strip()
    return value if len(value) <= KEY_MAX else "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def _text(value) -> str:
    """A header as text: RFC 2047 words decoded, undecodable bytes replaced."""
    if value is None:
        return ""
    try:
        return str(make_header(decode_header(str(value))))
    except (ValueError, LookupError, UnicodeError):
        return str(value)


def _addresses(message: Message, *names: str) -> tuple[str, ...]:
    values = [str(v) for name in names for v in (message.get_all(name) or [])]
    found = []
    for _name, address in getaddresses(values):
        address = address.strip().lower()
        if "@" in address and not any(c.isspace() for c in address):
            found.append(address)
    return tuple(dict.fromkeys(found))


def _named(message: Message, name: str) -> tuple[tuple[str, str], ...]:
    values = [str(v) for v in (message.get_all(name) or [])]
    return tuple((address.strip().lower(), " ".join(_text(display).split()).strip('"\' '))
                 for display, address in getaddresses(values) if "@" in address)


def _date(value, fallback: datetime | None) -> datetime:
    if value:
        try:
            parsed = parsedate_to_datetime(str(value))
            if parsed.tzinfo is None:  # "-0000": UTC, time zone unknown
                parsed = parsed.replace(tzinfo=UTC)
            if 1971 <= parsed.year <= 2999:
                return parsed.astimezone(UTC)
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
    if fallback is not None:
        return fallback if fallback.tzinfo else fallback.replace(tzinfo=UTC)
    raise Malformed("no readable Date header and no arrival time")


def parse(headers: bytes, *, arrived: datetime | None = None) -> Mail:
    """The headers the sync fetched (imap.HEADER_FIELDS). Malformed when they name nobody."""
    message = message_from_bytes(headers, policy=compat32)
    raw_id = _text(message.get("Message-ID"))
    found = _ID.search(raw_id)
    if found:
        message_id = _key(found.group(1))
    elif raw_id.strip():
        message_id = _key(raw_id.strip().strip("<>"))
    else:  # no Message-ID: a digest of the headers, the same on every scan
        message_id = "sha256:" + hashlib.sha256(headers.strip()).hexdigest()
    senders = _addresses(message, "From")
    recipients = _addresses(message, "To", "Cc", "Bcc")
    if not senders and not recipients:
        raise Malformed("no readable From, To or Cc address")
    reply_to = _ID.search(_text(message.get("In-Reply-To")))
    content_type = message.get_content_type()
    auto = (message.get("Auto-Submitted") or "").strip().lower()
    precedence = (message.get("Precedence") or "").strip().lower()
    subject = " ".join(_text(message.get("Subject")).split())
    return Mail(
        message_id=message_id,
        in_reply_to=_key(reply_to.group(1)) if reply_to else None,
        references=tuple(_key(r) for r in _ID.findall(_text(message.get("References")))),
        sender=senders[0] if senders else None,
        recipients=recipients,
        subject=subject,
        date=_date(message.get("Date"), arrived),
        auto_reply=(
            auto.startswith("auto-replied")
            or message.get("X-Autoreply") is not None
            or message.get("X-Autorespond") is not None
            or precedence == "auto_reply"
            or _ooo_subject(subject)
        ),
        report=(
            content_type == "multipart/report"
            and (message.get_param("report-type") or "").lower() == "delivery-status"
        ),
        bcc=_addresses(message, "Bcc"),
        to_names=_named(message, "To"),
    )


# The usual subjects of an out-of-office, in English, German, French, Spanish, Dutch and Italian.
OOO_SUBJECTS = (
    "out of office", "out of the office", "automatic reply", "auto-reply", "autoreply", "auto reply",
    "away from the office",
    "abwesenheitsnotiz", "automatische antwort", "abwesend", "nicht im büro", "außer haus",
    "absence du bureau", "réponse automatique", "reponse automatique", "absent du bureau", "absent",
    "fuera de la oficina", "respuesta automática", "respuesta automatica", "ausente",
    "afwezig", "automatisch antwoord", "niet aanwezig", "buiten kantoor",
    "fuori sede", "fuori ufficio", "risposta automatica", "assente",
)
_OOO = re.compile(r"^(?:(?:re|aw|antw|sv|r|rif)\s*:\s*)*(?:" + "|".join(map(re.escape, OOO_SUBJECTS)) + r")\b",
                  re.IGNORECASE)


def _ooo_subject(subject: str) -> bool:
    return _OOO.match(subject.strip()) is not None


def out_of_office(mail: Mail) -> bool:
    return mail.auto_reply and not mail.report


def message_of(raw: bytes) -> Message:
    return message_from_bytes(raw, policy=compat32)


def body_text(message: Message, limit: int = 20_000) -> str:
    """The first text part (plain, else HTML without its tags), decoded whatever its charset."""
    html_text = None
    for part in message.walk():
        kind = part.get_content_type()
        if kind not in ("text/plain", "text/html") or part.get_filename():
            continue
        try:
            payload = part.get_payload(decode=True) or b""
        except (ValueError, TypeError):
            continue
        charset = part.get_content_charset() or "utf-8"
        try:
            text = payload.decode(charset, errors="replace")
        except LookupError:
            text = payload.decode("latin-1")
        if kind == "text/plain":
            return text[:limit]
        if html_text is None:
            html_text = html.unescape(re.sub(r"(?s)<(script|style).*?</\1>|<[^>]+>", " ", text))
    return (html_text or "")[:limit]


def bounced_addresses(message: Message) -> tuple[str, ...]:
    """The recipients a delivery report (RFC 3464) says failed."""
    failed = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if isinstance(blocks, str):  # not parsed as header blocks: read them ourselves
            blocks = [message_from_bytes(b.encode(errors="replace"), policy=compat32)
                      for b in re.split(r"\r?\n\r?\n", blocks)]
        for block in blocks or []:
            action = (block.get("Action") or "").strip().lower()
            recipient = block.get("Final-Recipient") or block.get("Original-Recipient")
            if recipient and action.startswith("failed"):
                address = str(recipient).split(";", 1)[-1].strip().strip("<>").lower()
                if "@" in address:
                    failed.append(address)
    for value in message.get_all("X-Failed-Recipients") or []:
        failed += [a.strip().lower() for a in str(value).split(",") if "@" in a]
    return tuple(dict.fromkeys(failed))


# Where an out-of-office names the day its writer is back, per language: the words just
# before the date ("back on 15 December", "bis zum 3. Januar", "de retour le 5 janvier").
RETURN_CUES = {
    "en": r"back (?:in the office )?(?:on|from)?|return(?:ing)? (?:to the office )?(?:on)?|returns? (?:on)?"
          r"|until|till|through",
    "de": r"bis (?:einschließlich |inklusive )?(?:zum|am|zu)?|zurück (?:am|ab)?|wieder (?:im büro )?(?:am|ab)?",
    "fr": r"de retour (?:au bureau )?(?:le|à partir du)?|jusqu'au|jusqu’au|jusqu'à|retour (?:le|prévu le)?"
          r"",
    "es": r"hasta (?:el)?|de vuelta (?:el)?|regreso (?:el)?|volveré (?:el)?",
    "nl": r"terug (?:op)?|tot (?:en met)?|weer aanwezig (?:op)?",
    "it": r"fino al|rientro (?:in ufficio )?(?:il)?|di ritorno (?:il)?|torno (?:il)?"
          r"|sarò in ufficio (?:il)?",
}
_CUES = {lang: re.compile(rf"\b(?:{cue})\s+", re.IGNORECASE) for lang, cue in RETURN_CUES.items()}
MAX_AWAY_DAYS = 365


def return_date(text: str, sent_on: date) -> tuple[date, str] | None:
    """The day the writer of an out-of-office is back, with the words that said it."""
    from dateparser.search import search_dates  # a heavy import: only when an out-of-office comes

    text = " ".join(text.split())[:5000]
    base = datetime(sent_on.year, sent_on.month, sent_on.day, 12)
    best: tuple[int, date, str] | None = None
    for lang, cue in _CUES.items():
        for match in cue.finditer(text):
            segment = text[match.end(): match.end() + 40]
            try:
                found = search_dates(segment, languages=[lang], settings={
                    "PREFER_DATES_FROM": "future", "RELATIVE_BASE": base, "REQUIRE_PARTS": ["day", "month"],
                })
            except Exception:  # noqa: BLE001 - dateparser on odd text: no date, not a failure
                found = None
            for said, when in found or []:
                day = when.date()
                if sent_on < day <= sent_on + timedelta(days=MAX_AWAY_DAYS):
                    quoted = (match.group(0) + said).strip()
                    if best is None or match.start() < best[0]:
                        best = (match.start(), day, quoted)
                    break
    return (best[1], best[2]) if best else None
