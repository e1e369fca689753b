"""The bytes of a notice's email, as the email package writes them, for less work.

:func:`siteupdates.builtin.smtp.message_for` builds an ``EmailMessage``, and
turning it into bytes parses every header value and folds it again: about
1 ms a notice, more than the SMTP exchange with a local server. Most of a
notice's headers are short ASCII words (keys, IDs, a subject) that the email
package writes out unchanged; :func:`message_bytes` writes those directly and
asks the email package for the others, one header at a time (a name outside
ASCII, a line that would fold). The body is encoded by the same choice the
email package makes (7bit, 8bit or quoted-printable; a body that base64 suits
better is left to it whole). ``tests/unit/test_mail_bytes.py`` holds the
result equal to ``message_for(...).as_bytes(...)`` over generated notices, on
every Python the library supports.
"""

from __future__ import annotations

import binascii
import functools
import re
from email import policy as _policies
from email import quoprimime
from email.headerregistry import Address
from email.utils import format_datetime, formatdate, parsedate_to_datetime
from typing import TYPE_CHECKING, Any, List, Optional

if TYPE_CHECKING:
    from siteupdates.domain.messages import Notice

__all__ = ["message_bytes"]

#: The email package's policy for a message object, and as ``send`` writes it.
_POLICY = _policies.default
_WIRE = _POLICY.clone(linesep="\r\n")
_MAX = int(_POLICY.max_line_length or 78)

#: Printable ASCII words, one space apart: an unstructured value written as it is
#: (the parser's encoded words begin with ``=?``, checked apart).
_WORDS = re.compile(r"[!-~]+(?: [!-~]+)*\Z")
#: A display name that needs neither quotes nor encoding: atext words, one space apart.
_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+/^_`{|}~-]+(?: [A-Za-z0-9!#$%&'*+/^_`{|}~-]+)*\Z")
#: A dot-atom address (the local part and the domain need no quoting).
_ADDR = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\Z")
#: A msg-id whose left part and domain are dot-atoms.
_MSG_ID = re.compile(r"<[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*>\Z")

_FIXED = b"Auto-Submitted: auto-generated\r\nX-Auto-Response-Suppress: All\r\n"
_CONTENT_TYPE = b'Content-Type: text/plain; charset="utf-8"\r\n'
_MIME = b"MIME-Version: 1.0\r\n"


def _folded(name: str, value: Any) -> bytes:
    """``name: value`` as the email package stores and folds it (the slow, general way)."""
    # header_store_parse, as ``msg[name] = value`` does: it refuses a line break too.
    return bytes(_WIRE.fold_binary(*_POLICY.header_store_parse(name, value)))


def _unstructured(name: str, value: str) -> bytes:
    line = f"{name}: {value}"
    if len(line) <= _MAX and "=?" not in value and _WORDS.match(value):
        return line.encode("ascii") + b"\r\n"
    return _folded(name, value)


def _address(name: str, email: str) -> Address:
    local, _, domain = email.rpartition("@")
    return Address(display_name=name or "", username=local, domain=domain)


@functools.lru_cache(maxsize=1024)
def _address_line(header: str, name: str, email: str) -> bytes:
    """The From or To line; kept, since a sender and most recipients come back."""
    line = f"{header}: {name} <{email}>" if name else f"{header}: {email}"
    if len(line) <= _MAX and _ADDR.match(email) and (not name or _NAME.match(name)):
        return line.encode("ascii") + b"\r\n"
    return _folded(header, _address(name, email))


def _message_id(value: str) -> bytes:
    line = f"Message-ID: {value}"
    if len(line) <= _MAX and _MSG_ID.match(value):
        return line.encode("ascii") + b"\r\n"
    return _folded("Message-ID", value)


def _body(text: str) -> Optional[List[bytes]]:
    """The Content-Transfer-Encoding line and the encoded body, or None for base64.

    The email package's choice (``contentmanager._encode_text``): 7bit or 8bit
    when no line is longer than 78 bytes, else quoted-printable unless base64
    is shorter on the first ten lines.
    """
    lines = text.encode("utf-8").splitlines()
    if max((len(x) for x in lines), default=0) <= _MAX:
        body = b"\r\n".join(lines) + b"\r\n"
        cte = b"7bit" if body.isascii() else b"8bit"
        return [b"Content-Transfer-Encoding: " + cte + b"\r\n", body]
    # The first ten lines with the message policy's line ends ("\n", not the wire's).
    sniff = b"\n".join(lines[:10]) + b"\n"
    sniff_qp = quoprimime.body_encode(sniff.decode("latin-1"), _MAX)
    if len(sniff_qp) > len(binascii.b2a_base64(sniff)):
        return None
    if len(lines) <= 10:
        data = sniff_qp
    else:
        data = quoprimime.body_encode((b"\n".join(lines) + b"\n").decode("latin-1"), _MAX)
    # The generator writes the payload's lines with the wire's line ends.
    return [
        b"Content-Transfer-Encoding: quoted-printable\r\n",
        data.replace("\n", "\r\n").encode("ascii"),
    ]


def message_bytes(notice: Notice, sender: str, sender_name: str = "") -> Optional[bytes]:
    """The bytes ``message_for(notice, sender, sender_name)`` is sent as, with CRLF lines.

    None when the body suits base64: then the email package writes the message.
    """
    body = _body(notice.body + "\n")
    if body is None:
        return None
    domain = sender.rpartition("@")[2] or "localhost"
    # The Date header object keeps the instant and writes it back in its own form.
    date = formatdate(notice.created_at.timestamp(), usegmt=True)
    date = format_datetime(parsedate_to_datetime(date))
    return b"".join(
        [
            _address_line("From", sender_name, sender),
            _address_line("To", notice.contact_name, notice.email),
            _unstructured("Subject", notice.subject),
            b"Date: " + date.encode("ascii") + b"\r\n",
            _message_id(f"<{re.sub(r'[^A-Za-z0-9.-]', '.', notice.key)}@{domain}>"),
            _FIXED,
            _unstructured("X-Siteupdates-Key", notice.key),
            _unstructured("X-Siteupdates-Request", notice.request_id),
            _CONTENT_TYPE,
            body[0],
            _MIME,
            b"\r\n",
            body[1],
        ]
    )
