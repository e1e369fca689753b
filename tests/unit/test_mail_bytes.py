"""A notice's email bytes written directly are the email package's, byte for byte (issue 24).

The SMTP notifier sends :func:`siteupdates.builtin.smtp.message_bytes`, most
of it written directly (:mod:`siteupdates.builtin._mailbytes`); the reference
is ``message_for(...).as_bytes(...)``, what it sent before. The notices are
generated around the direct path's edges: header lines of 78 characters and
one more, names and subjects outside ASCII, ``=?`` in a value, keys that make
odd Message-IDs, bodies in 7bit, 8bit, quoted-printable and base64, line
breaks of every kind.
"""

from __future__ import annotations

import string
from datetime import datetime, timezone
from typing import Any, Callable, Union

import attrs
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from siteupdates.builtin.smtp import message_bytes, message_for
from siteupdates.domain.messages import Notice
from siteupdates.testing import sample_notice


def reference(notice: Notice, sender: str, sender_name: str) -> bytes:
    msg = message_for(notice, sender, sender_name)
    return bytes(msg.as_bytes(policy=msg.policy.clone(linesep="\r\n")))


def outcome(build: Callable[[], bytes]) -> Union[bytes, str]:
    """The bytes, or the kind of error (both ways must refuse the same values)."""
    try:
        return build()
    except Exception as exc:
        return type(exc).__name__


ascii_words = st.text(
    alphabet=string.ascii_letters + string.digits + " .:-_'=?<>@,()\"", max_size=90
)
any_text = st.text(max_size=90)
fields = st.one_of(ascii_words, any_text, st.sampled_from(["", "Ops", "Dana Müller", "=?x?="]))
addresses = st.one_of(
    st.emails(),
    st.from_regex(r"[a-z0-9._+-]{1,40}@[a-z0-9-]{1,30}(\.[a-z]{2,8}){0,2}", fullmatch=True),
    any_text,
)
keys = st.one_of(
    st.from_regex(r"[0-9a-f]{8,40}:[0-9]{1,3}:[a-z-]{3,20}", fullmatch=True), ascii_words, any_text
)
long_lines = st.lists(
    st.text(alphabet=string.ascii_letters + " ü—=\t.", min_size=0, max_size=120), max_size=14
).map("\n".join)
#: Prose like a notice's: sentences of words, some outside ASCII, on lines of any length.
prose = st.lists(
    st.lists(st.sampled_from(["Hello", "Ops,", "the", "request", "Müller", "—", "a=b", ""]),
             max_size=40).map(" ".join),
    min_size=1, max_size=16,
).map("\n".join)  # fmt: skip
bodies = st.one_of(
    prose,
    long_lines,
    st.text(max_size=300),
    st.lists(st.sampled_from(["a" * 78, "a" * 79, "ü" * 39, "ü" * 40, "", "\r", "x\r\ny"])).map(
        "\n".join
    ),
)
instants = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc)
)


@settings(max_examples=400, deadline=None)
@given(
    name=fields,
    email=addresses,
    subject=fields,
    key=keys,
    request_id=st.one_of(keys, ascii_words),
    body=bodies,
    created_at=instants,
    sender=st.sampled_from(
        ["hosting@provider.example", "h@x", "ops@a-very-long-domain-name.example"]
    ),
    sender_name=st.sampled_from(["", "Hosting Team", "Zoë's Hosting", "Team, Inc."]),
)
@example(name="Ops", email="ops@example.org", subject="x" * 69, key="k", request_id="r",
         body="b", created_at=datetime(2026, 3, 1, tzinfo=timezone.utc),
         sender="hosting@provider.example", sender_name="")  # fmt: skip
@example(name="Ops", email="ops@example.org", subject="x" * 70, key="k" * 70, request_id="r",
         body="", created_at=datetime(2026, 3, 1, tzinfo=timezone.utc),
         sender="hosting@provider.example", sender_name="")  # fmt: skip
def test_the_bytes_are_the_email_packages(**given_: Any) -> None:
    sender, sender_name = given_.pop("sender"), given_.pop("sender_name")
    notice = sample_notice(**{"contact_name": given_.pop("name"), **given_})
    expected = outcome(lambda: reference(notice, sender, sender_name))
    assert outcome(lambda: message_bytes(notice, sender, sender_name)) == expected


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"contact_name": "Ops", "body": "Hello Ops,\n\n" + "word " * 30},  # quoted-printable
        {"contact_name": "", "body": "plain ascii"},  # 7bit, an address alone
        {"body": "ü" * 200},  # base64: left to the email package whole
        {"key": "5b81f3a7145043328b34f750cf88c212:1:reminder-24h"},  # a Message-ID that folds
    ],
)
def test_notices_of_every_body_encoding(changes: Any) -> None:
    notice = attrs.evolve(sample_notice(), **changes)
    for sender_name in ("", "Hosting Team"):
        got = message_bytes(notice, "hosting@provider.example", sender_name)
        assert got == reference(notice, "hosting@provider.example", sender_name)
