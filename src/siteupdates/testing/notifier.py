"""The notifier contract: what every notifier plugin must do."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Callable, List, Optional

import attrs
import pytest

from siteupdates.errors import (
    AttemptCancelled,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from siteupdates.notices import DeliveryAttempt, Notice
from siteupdates.testing.support import T0

__all__ = ["NotifierContract", "Received", "sample_notice"]


@attrs.frozen
class Received:
    """What a person at the other end of a notifier's channel got."""

    key: str
    to: str
    subject: str
    body: str


def sample_notice(key: str = "r1:1:accepted", **changes: Any) -> Notice:
    """A notice to a contact whose name needs RFC 2047 and whose text is not ASCII."""
    base = Notice(
        key=key,
        kind="accepted",
        request_id="r1",
        tenant_id="d1",
        contact_id="dana",
        email="dana@d1.example",
        subject="Request accepted: Example District, request r1",
        body="Hello Dana Müller,\n\nExample District: update of staging to E.1505.2.\n"
        "Preferred start: Mar. 7, 2026 at 10:00 PM CST — « ok ».",
        created_at=T0,
        contact_name="Dana Müller",
    )
    return attrs.evolve(base, **changes)


class NotifierContract:
    """The behaviour every notifier plugin must have (like :class:`StorageContract`).

    Subclass it in your plugin's tests and provide fixtures:

    * ``notifier``: the plugin object, ready to deliver;
    * ``received``: a callable returning what the channel got so far, as
      :class:`Received` values (read the mailbox, the log, the chat);
    * optionally ``permanent_failure`` and ``temporary_failure``: callables
      returning a context manager inside which the channel refuses every notice
      for good (an unknown mailbox) or for now (the server is down). Tests that
      need one are skipped when it is None. For good means
      :class:`~siteupdates.errors.PermanentDeliveryError`; for now means
      :class:`~siteupdates.errors.TemporaryDeliveryError` or an ``OSError``
      (``ConnectionError``, ``TimeoutError``): any other exception is a crash and
      fails the contract.
    """

    @pytest.fixture
    def notifier(self) -> Any:
        """Override: the notifier plugin under test."""
        raise NotImplementedError("provide a notifier fixture")

    @pytest.fixture
    def received(self) -> Callable[[], List[Received]]:
        """Override: a function that lists what the notifier's channel received."""
        raise NotImplementedError("provide a received fixture")

    @pytest.fixture
    def permanent_failure(self) -> Optional[Callable[[], AbstractContextManager[Any]]]:
        """Override: a context in which the channel fails permanently (None: it cannot)."""
        return None

    @pytest.fixture
    def temporary_failure(self) -> Optional[Callable[[], AbstractContextManager[Any]]]:
        """Override: a context in which the channel fails for now (None: it cannot)."""
        return None

    @staticmethod
    def deliver(notifier: Any, notice: Notice, attempt: Optional[DeliveryAttempt] = None) -> bool:
        """Deliver through a host that has only ``notifier`` (the built-in ones blocked)."""
        from siteupdates.plugins import PluginHost

        host = PluginHost(
            plugins=[notifier], blocked=["siteupdates.notify.log", "siteupdates.notify.smtp"]
        )
        return host.deliver_notice(notice, attempt or DeliveryAttempt(notice.key))

    def test_a_notice_reaches_the_contact_by_name_with_its_text(
        self, notifier: Any, received: Callable[[], List[Received]]
    ) -> None:
        notice = sample_notice()
        assert self.deliver(notifier, notice) is True
        [got] = received()
        assert got.key == notice.key
        assert "dana@d1.example" in got.to and "Dana Müller" in got.to
        assert got.subject == notice.subject
        assert "« ok »" in got.body and "Hello Dana Müller" in got.body

    def test_a_given_up_attempt_sends_nothing(
        self, notifier: Any, received: Callable[[], List[Received]]
    ) -> None:
        attempt = DeliveryAttempt("r1:1:accepted", 30)
        assert attempt.cancel("the dispatcher gave up")
        with pytest.raises(AttemptCancelled):
            self.deliver(notifier, sample_notice(), attempt)
        assert received() == []

    def test_an_attempt_whose_claim_was_lost_sends_nothing(
        self, notifier: Any, received: Callable[[], List[Received]]
    ) -> None:
        attempt = DeliveryAttempt("r1:1:accepted", 30, check_claim=lambda: False)
        with pytest.raises(AttemptCancelled):
            self.deliver(notifier, sample_notice(), attempt)
        assert received() == []

    def test_a_notice_sent_again_carries_the_same_key(
        self, notifier: Any, received: Callable[[], List[Received]]
    ) -> None:
        notice = sample_notice()
        self.deliver(notifier, notice)
        self.deliver(notifier, notice)
        assert [r.key for r in received()] == [notice.key, notice.key]

    def test_a_permanent_failure_is_reported_as_permanent(
        self,
        notifier: Any,
        received: Callable[[], List[Received]],
        permanent_failure: Optional[Callable[[], AbstractContextManager[Any]]],
    ) -> None:
        if permanent_failure is None:
            pytest.skip("this channel cannot fail permanently")
        with permanent_failure(), pytest.raises(PermanentDeliveryError) as info:
            self.deliver(notifier, sample_notice())
        assert info.value.reason
        assert received() == []

    def test_a_temporary_failure_is_not_reported_as_permanent(
        self,
        notifier: Any,
        received: Callable[[], List[Received]],
        temporary_failure: Optional[Callable[[], AbstractContextManager[Any]]],
    ) -> None:
        if temporary_failure is None:
            pytest.skip("this channel cannot fail temporarily")
        with temporary_failure(), pytest.raises(Exception) as info:
            self.deliver(notifier, sample_notice())
        # A crash (TypeError, KeyError...) is a bug, not "try again later", though
        # the outbox would retry it all the same.
        exc = info.value
        assert isinstance(exc, (TemporaryDeliveryError, OSError)), (
            "a temporary failure raises TemporaryDeliveryError (or an OSError such as "
            f"ConnectionError or TimeoutError), not {type(exc).__name__}: {exc}"
        )
        assert received() == []
