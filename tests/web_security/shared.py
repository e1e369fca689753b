"""What every framework's adapter shares: the world's routes and pages under one prefix.

The pages and their paths are the same whichever framework serves them (one
table of routes, :data:`siteupdates_web.pages.ROUTES`); only a route's name is
spelled the framework's way (``siteupdates_web.move_request`` in Flask,
``siteupdates:move_request`` in Django), given as :attr:`WorldPages.endpoint_prefix`.
"""

from __future__ import annotations

from typing import Any, Dict, List

from siteupdates import Desk
from siteupdates.usecases import Role, by_actor

from . import world
from .framework import Route

PREFIX = "/updates"
#: The provider's actions on one request (``/provider/requests/<id>/<action>``).
PROVIDER_ACTIONS = ("schedule", "reschedule", "ask", "answered", "defer", "resume", "fail")
#: The methods that change state.
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


class WorldPages:
    """The routes and pages of the hostile world, for an adapter with a desk and links."""

    #: How the framework names a route: the prefix before the route's own name.
    endpoint_prefix = ""
    desk: Desk
    ids: Dict[str, str]
    links: Any

    def routes(self) -> List[Route]:
        """Every state-changing route, with sample parameters of the world."""
        t, ids, n = world.TENANT, self.ids, self.endpoint_prefix
        mine = f"{PREFIX}/t/{t}/requests/{ids['open']}"
        page = f"{PREFIX}/t/{t}/requests"
        link = self.links.token(
            world.CONTACT, self.desk.contact(world.CONTACT).request(ids["open"]), "cancel",
            world.NOW,
        )  # fmt: skip
        outbox = list(self.desk.provider.outbox(limit=1))
        assert outbox, "the world's notices fill the outbox"
        # The link first: the other routes' accepted posts may cancel its request.
        found = [
            Route(f"{n}action_link", f"{PREFIX}/act/{link}", {}, "link", f"{PREFIX}/act/{link}"),
            Route(f"{n}hide_complete", f"{PREFIX}/t/{t}/hide-complete", {"hide": "1"},
                  "contact", page),
            Route(f"{n}new_request", f"{PREFIX}/t/{t}/new", {
                "key": "k-0123456789", "target": "staging", "version": "", "db_refresh": "yes",
                "date": "2015-02-20", "time": "22:00", "ambiguity": "earlier",
                "action": "submit"}, "contact", f"{PREFIX}/t/{t}/new"),
            Route(f"{n}remove_request", mine + "/remove", {"confirmed": "1"}, "contact", page),
            Route(f"{n}answer_request", f"{PREFIX}/t/{t}/requests/{ids['asked']}/answer",
                  {"answer": "by phone"}, "contact", page),
            Route(f"{n}move_request", mine + "/move", {"date": "2015-02-21", "time": "22:00"},
                  "contact", page),
            Route(f"{n}postpone_request", f"{PREFIX}/t/{t}/requests/{ids['scheduled']}/postpone",
                  {"how": "next-window"}, "contact", page),
            Route(f"{n}approve_request", mine + "/approve", {}, "contact", page),
            Route(f"{n}decline_request", mine + "/decline", {"reason": "no"}, "contact", page),
            Route(f"{n}provider_plan", f"{PREFIX}/provider/plan", {"mode": "store"}, "staff",
                  f"{PREFIX}/provider/"),
            Route(f"{n}provider_deliver", f"{PREFIX}/provider/outbox/deliver", {}, "staff",
                  f"{PREFIX}/provider/outbox"),
            Route(f"{n}provider_retry", f"{PREFIX}/provider/outbox/{outbox[0].id}/retry", {},
                  "staff", f"{PREFIX}/provider/outbox"),
        ]  # fmt: skip
        for action in PROVIDER_ACTIONS:
            found.append(
                Route(
                    f"{n}provider_act",
                    f"{PREFIX}/provider/requests/{ids['open']}/{action}",
                    {"reason": "why", "date": "2015-02-22", "time": "05:00"},
                    "staff",
                    f"{PREFIX}/provider/",
                    label=f"provider_act:{action}",
                )
            )
        return found

    def readable_paths(self) -> List[str]:
        """Every GET page of one request, with ``{tenant}`` and ``{request}`` placeholders."""
        base = PREFIX + "/t/{tenant}"
        return [
            base + "/requests",
            base + "/new",
            base + "/requests/{request}",
            PREFIX + "/gadget/fragment?tenant={tenant}",
            PREFIX + "/requests?tenant={tenant}",
        ]

    def pages(self, who: str) -> List[str]:
        """Every page ``who`` (``contact`` or ``staff``) may read in the world."""
        ids = self.ids
        if who == "contact":
            t = f"{PREFIX}/t/{world.TENANT}"
            mine = [v for k, v in ids.items() if k != "other"]
            return [
                PREFIX + "/",
                PREFIX + "/gadget",
                PREFIX + "/gadget/fragment",
                t + "/requests",
                t + "/new",
                *(f"{t}/requests/{rid}" for rid in mine),
                f"{PREFIX}/act/"
                + self.links.token(
                    world.CONTACT, self.desk.contact(world.CONTACT).request(ids["asked"]),
                    "answer", world.NOW,
                ),
            ]  # fmt: skip
        reads = sorted(
            uc.name
            for uc in by_actor(Role.PROVIDER)
            if not uc.writes and not uc.python_only and not any(p.required for p in uc.params)
        )
        return [
            PREFIX + "/provider/",
            PREFIX + "/provider/?view=open",
            PREFIX + "/provider/?view=done",
            PREFIX + "/provider/outbox",
            *(f"{PREFIX}/provider/requests/{rid}" for rid in ids.values()),
            *(f"{PREFIX}/provider/read/{name}" for name in reads),
        ]
