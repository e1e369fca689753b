"""The pages' security headers on every response they can reach: 200s, 3xx, 4xx and 500s.

Content-Security-Policy (no inline script, no framing but the gadget's),
X-Frame-Options, nosniff and Referrer-Policy, on the framework's own answers
under the prefix too (an unknown path, a wrong method), and with the pages'
own error page rather than the framework's default.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Tuple

from . import world
from .framework import Framework, Resp

Step = Callable[[Framework], Resp]


def assert_headers(resp: Resp, what: str, *, framed: bool = False) -> None:
    h = resp.headers
    csp = h.get("content-security-policy", "")
    assert "default-src 'self'" in csp, f"{what}: no Content-Security-Policy ({resp.status})"
    assert "object-src 'none'" in csp and "base-uri 'none'" in csp, what
    assert "frame-ancestors" in csp, what
    if not framed:
        assert "frame-ancestors 'self'" in csp, what
        assert h.get("x-frame-options") == "SAMEORIGIN", f"{what}: X-Frame-Options"
    assert h.get("x-content-type-options") == "nosniff", f"{what}: nosniff"
    assert h.get("referrer-policy") == "same-origin", f"{what}: Referrer-Policy"


def responses(fw: Framework) -> Dict[str, Tuple[int, Resp]]:
    """One response of each kind the pages give, with the status it must have."""
    p = fw.prefix
    found: Dict[str, Tuple[int, Resp]] = {}
    fw.sign_in(contact=world.CONTACT)
    found["a page"] = (200, fw.request("GET", p + f"/t/{world.TENANT}/requests"))
    found["a redirect"] = (302, fw.request("GET", p + "/requests"))
    found["the stylesheet"] = (200, fw.request("GET", p + "/static/site.css"))
    found["an unknown path"] = (404, fw.request("GET", p + "/no/such/page"))
    found["another's tenant"] = (404, fw.request("GET", p + f"/t/{world.OTHER_TENANT}/requests"))
    found["a wrong method"] = (405, fw.request("PUT", p + f"/t/{world.TENANT}/requests"))
    found["a GET of a POST route"] = (
        405,
        fw.request("GET", p + f"/t/{world.TENANT}/hide-complete"),
    )
    found["a refused token"] = (400, fw.post(p + f"/t/{world.TENANT}/hide-complete", {}, "x"))
    found["a page number past any"] = (
        400,
        fw.request("GET", p + f"/t/{world.TENANT}/requests?page=999999999999"),
    )
    fw.crash_next()
    found["a crash"] = (500, fw.request("GET", p + f"/t/{world.TENANT}/requests"))
    fw.sign_out()
    found["signed out"] = (401, fw.request("GET", p + f"/t/{world.TENANT}/requests"))
    return found


def test_every_kind_of_response_carries_the_headers(framework: Framework) -> None:
    problems: List[str] = []
    for what, (status, resp) in responses(framework).items():
        if resp.status != status:
            problems.append(f"{what}: {resp.status}, expected {status}")
            continue
        try:
            assert_headers(resp, what)
        except AssertionError as exc:
            problems.append(str(exc))
    assert not problems, "\n".join(problems)


def test_error_pages_under_the_prefix_are_the_pages_own(framework: Framework) -> None:
    """404 and 405 under the prefix: the pages' friendly page, not the framework's default."""
    framework.sign_in(contact=world.CONTACT)
    p = framework.prefix
    not_found = framework.request("GET", p + "/no/such/page")
    wrong = framework.request("PUT", p + f"/t/{world.TENANT}/requests")
    for resp in (not_found, wrong):
        assert 'class="su' in resp.text and "Your Updates" in resp.text, resp.text[:200]
        assert "Traceback" not in resp.text
    assert "GET" in wrong.headers.get("allow", "")
    crash = None
    framework.crash_next()
    crash = framework.request("GET", p + f"/t/{world.TENANT}/requests")
    assert crash.status == 500 and "RuntimeError" not in crash.text
    assert "the store fell over" not in crash.text


def test_the_gadget_frame_alone_may_be_framed(framework: Framework) -> None:
    framework.sign_in(contact=world.CONTACT)
    framed = framework.request("GET", framework.prefix + "/gadget")
    assert framed.status == 200
    assert_headers(framed, "the gadget frame", framed=True)
    assert "x-frame-options" not in framed.headers


def test_responses_outside_the_prefix_are_the_hosts(framework: Framework) -> None:
    """The pages add nothing to the host's own answers elsewhere."""
    resp = framework.request("GET", "/no-such-host-page")
    assert resp.status == 404
    assert "content-security-policy" not in resp.headers
