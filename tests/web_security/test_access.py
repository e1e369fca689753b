"""Access across contacts (R22): another contact's tenant or request is the one 404, byte for byte.

On every route that takes a tenant or a request, read or write, the answer for
something of another contact's is the very answer for something that does not
exist, and so is the answer for an ID no record could have (a NUL, 201
characters, a space in front): nothing tells them apart.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

from . import world
from .framework import Framework, Resp

#: IDs that cannot name anything, each a library error if it reached a use case.
IMPOSSIBLE = ("\x00x", "a" * 201, " {real}", "{real} ", "..", "%00", "\u202eabc")


def _fill(path: str, tenant: str, request_id: str) -> str:
    from urllib.parse import quote

    return path.replace("{tenant}", quote(tenant, safe="")).replace(
        "{request}", quote(request_id, safe="")
    )


def _shape(resp: Resp) -> Tuple[int, bytes]:
    return resp.status, resp.body


def variants(fw: Framework) -> Dict[str, Tuple[str, str]]:
    """(tenant, request) pairs that must all look like "nothing here"."""
    mine, theirs = fw.ids["open"], fw.ids["other"]
    found = {
        "another contact's tenant": (world.OTHER_TENANT, theirs),
        "another contact's request under my tenant": (world.TENANT, theirs),
        "a tenant that does not exist": ("no-such-tenant", mine),
        "a request that does not exist": (world.TENANT, "no-such-request"),
    }
    for bad in IMPOSSIBLE:
        found[f"impossible tenant {bad[:12]!r}"] = (bad.replace("{real}", world.TENANT), mine)
        found[f"impossible request {bad[:12]!r}"] = (world.TENANT, bad.replace("{real}", mine))
    return found


def test_r22_reads_answer_one_404_for_everything_not_yours(framework: Framework) -> None:
    framework.sign_in(contact=world.CONTACT)
    problems: List[str] = []
    for path in framework.readable_paths():
        if "{request}" not in path and "{tenant}" not in path:
            continue
        answers = {}
        for name, (tenant, rid) in variants(framework).items():
            if "{request}" not in path and "request" in name:
                continue
            answers[name] = _shape(framework.request("GET", _fill(path, tenant, rid)))
        baseline = answers.pop("a tenant that does not exist")
        if baseline[0] != 404:
            problems.append(f"{path}: a tenant that does not exist answers {baseline[0]}")
        for name, got in answers.items():
            if got != baseline:
                problems.append(f"{path}: {name} answers {got[0]}, unlike any other 404")
    assert not problems, "\n".join(problems)


def test_r22_writes_answer_one_404_for_everything_not_yours(framework: Framework) -> None:
    problems: List[str] = []
    for route in framework.routes():
        if route.who != "contact" or "/t/" not in route.path:
            continue
        framework.sign_in(contact=world.CONTACT)
        token = framework.csrf_token(route.page)
        template = route.path.replace(f"/t/{world.TENANT}/", "/t/{tenant}/")
        for rid in framework.ids.values():
            template = template.replace(f"/requests/{rid}/", "/requests/{request}/")
        answers = {}
        for name, (tenant, rid) in variants(framework).items():
            if "{request}" not in template and "request" in name:
                continue
            path = _fill(template, tenant, rid)
            answers[name] = _shape(framework.post(path, route.data, token))
        baseline = answers.pop("a tenant that does not exist")
        if baseline[0] != 404:
            problems.append(f"{route}: a tenant that does not exist answers {baseline[0]}")
        for name, got in answers.items():
            if got != baseline:
                problems.append(f"{route}: {name} answers {got[0]}, unlike any other 404")
    assert not problems, "\n".join(problems)


def test_r22_provider_pages_are_the_same_404_for_a_contact(framework: Framework) -> None:
    """The provider's screens do not announce themselves: a contact gets the one 404."""
    framework.sign_in(contact=world.CONTACT)
    baseline = _shape(framework.request("GET", framework.prefix + "/t/no-such-tenant/requests"))
    for path in framework.pages("staff"):
        got = _shape(framework.request("GET", path))
        assert got == baseline, f"{path} answers a contact {got[0]}"


def test_r22_an_unknown_path_under_the_prefix_is_the_same_404(framework: Framework) -> None:
    framework.sign_in(contact=world.CONTACT)
    baseline = _shape(framework.request("GET", framework.prefix + "/t/no-such-tenant/requests"))
    for path in ("/no-such-page", "/t/maple/requests/x/y/z", "/provider/nothing/here"):
        assert _shape(framework.request("GET", framework.prefix + path)) == baseline, path
