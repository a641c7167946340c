"""The console's request and planning workflows in a real browser.

A real ``groundshare serve`` on the demo network (this module's own, from the fixtures of
``conftest.py``), driven in headless Chromium as an operator would:

- Requests: create one (satellite, window in ISO UTC, contacts per day, minimum duration,
  priority), change it inline and cancel it after the inline confirm; each step checked
  through the JSON API with the same organisation's token.
- Planning: a dry run over a horizon lists what the plan would book and books nothing; Apply
  (after its inline confirm) books the contacts it lists; a request no pass can serve is
  shown unserved with the scheduler's reasons; an upcoming contact is cancelled from the page.
- Roles: a viewer's token sees the lists but no create, change, cancel, run or apply
  control, and the same writes forced through the API are refused (403).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.dashboard import (
    ORG_A,
    DemoServer,
    all_rows,
    artifacts_dir,
    iso,
    sign_in,
    watched_page,
)

pytestmark = [pytest.mark.service, pytest.mark.browser, pytest.mark.slow]

PLAN_WAIT_MS = 90_000  # a planning run solves for up to its time limit, twice over on a busy machine
IMPOSSIBLE_S = 3000  # no low-orbit pass lasts 50 minutes over a station


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url} answered {response.status_code}: {response.text}"
    return response.json()


def _now(api: httpx.Client) -> datetime:
    return datetime.fromisoformat(_ok(api.get("/clock"))["now"].replace("Z", "+00:00")).replace(second=0,
                                                                                                  microsecond=0)


def _own_satellite(api: httpx.Client) -> dict[str, Any]:
    me = _ok(api.get("/orgs/me"))["org"]
    return next(s for s in all_rows(api, "/satellites") if s["org_id"] == me["id"] and s.get("elements_in_force"))


def _scheduled_ids(api: httpx.Client, now: datetime) -> set[int]:
    me = _ok(api.get("/orgs/me"))["org"]
    return {c["id"] for c in all_rows(api, "/contacts", start=iso(now))
            if c["org_id"] == me["id"] and c["status"] == "scheduled"}


def _viewer_token(demo: DemoServer, label: str) -> str:
    with demo.api(ORG_A) as api:
        return _ok(api.post("/tokens", json={"role": "viewer", "label": label}), 201)["token"]


def test_operator_creates_changes_and_cancels_a_request(browser: Any, demo: DemoServer) -> None:
    with demo.api(ORG_A) as api:
        now = _now(api)
        satellite = _own_satellite(api)
    start, end = now + timedelta(hours=2), now + timedelta(hours=30)
    with watched_page(browser, demo) as page:
        sign_in(page, demo.tokens[ORG_A], ORG_A)
        page.get_by_role("link", name="Requests").click()
        form = page.locator("#request-form")
        form.wait_for()
        form.get_by_label("Satellite").select_option(str(satellite["id"]))
        form.get_by_label("Window start (UTC)").fill(iso(start))
        form.get_by_label("Window end (UTC)").fill(iso(end))
        form.get_by_label("Contacts per day").fill("2")
        form.get_by_label("Minimum duration (s)").fill("120")
        form.get_by_label("Priority").fill("5")
        form.get_by_role("button", name="Create request").click()
        page.wait_for_selector("#request-status[data-request-id]")
        request_id = int(page.locator("#request-status").get_attribute("data-request-id"))
        row = page.locator(f'tr.request-row[data-request-id="{request_id}"]')
        row.wait_for()
        with demo.api(ORG_A) as api:
            created = _ok(api.get(f"/requests/{request_id}"))
        assert created["satellite_id"] == satellite["id"]
        assert (created["window_start"], created["window_end"]) == (iso(start), iso(end))
        assert (created["contacts_per_day"], created["min_duration_s"], created["priority"]) == (2, 120, 5)
        assert created["state"] == "not_planned"
        assert row.get_attribute("data-state") == "not_planned"
        assert "Not yet planned" in row.inner_text()
        page.screenshot(path=artifacts_dir() / "requests-edit-en-desktop.png", full_page=True)

        # Change it inline: a later end, any number of contacts a day, a higher priority.
        row.get_by_role("button", name="Change").click()
        editor = page.locator(f"#edit-{request_id}-form")
        editor.wait_for()
        editor.get_by_label("Window end (UTC)").fill(iso(end + timedelta(hours=6)))
        editor.get_by_label("Contacts per day").fill("")
        editor.get_by_label("Priority").fill("7")
        editor.get_by_role("button", name="Save").click()
        page.get_by_text(f"Request {request_id} changed.").wait_for()
        with demo.api(ORG_A) as api:
            changed = _ok(api.get(f"/requests/{request_id}"))
        assert (changed["window_end"], changed["contacts_per_day"], changed["priority"]) == (
            iso(end + timedelta(hours=6)), None, 7)

        # Cancel it: the first click asks, Confirm cancels.
        row = page.locator(f'tr.request-row[data-request-id="{request_id}"]')
        row.get_by_role("button", name="Cancel request").click()
        with demo.api(ORG_A) as api:
            assert _ok(api.get(f"/requests/{request_id}"))["status"] == "open"  # nothing yet
        row.get_by_role("button", name="Confirm").click()
        page.get_by_text(f"Request {request_id} cancelled.").wait_for()
        with demo.api(ORG_A) as api:
            cancelled = _ok(api.get(f"/requests/{request_id}"))
        assert cancelled["status"] == "cancelled"
        row = page.locator(f'tr.request-row[data-request-id="{request_id}"]')
        assert row.get_attribute("data-state") == "cancelled"
        assert row.get_by_role("button").count() == 0


def test_dry_run_books_nothing_apply_books_the_plan_and_a_contact_is_cancelled(browser: Any,
                                                                              demo: DemoServer) -> None:
    with demo.api(ORG_A) as api:
        now = _now(api)
        day = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)  # the demo plans day one full
        satellite = _own_satellite(api)
        window = {"satellite_id": satellite["id"], "window_start": iso(day + timedelta(minutes=30)),
                  "window_end": iso(day + timedelta(hours=20))}
        servable = _ok(api.post("/requests", json={**window, "min_duration_s": 60, "priority": 10}), 201)
        impossible = _ok(api.post("/requests", json={**window, "min_duration_s": IMPOSSIBLE_S}), 201)
        before = _scheduled_ids(api, now)
    with watched_page(browser, demo) as page:
        sign_in(page, demo.tokens[ORG_A], ORG_A)
        page.get_by_role("link", name="Plan").click()
        page.wait_for_selector("#plan-form")
        page.get_by_label("Horizon start (UTC)").fill(iso(day))
        page.get_by_label("Hours").fill("24")
        page.get_by_role("button", name="Dry run").click()
        result = page.locator('#plan-result section[data-dry-run="true"]')
        result.wait_for(timeout=PLAN_WAIT_MS)
        rows = page.locator("#plan-contacts-table tr.plan-row")
        assert rows.count() >= 1, result.inner_text()
        assert str(servable["id"]) in rows.evaluate_all("rs => rs.map(r => r.dataset.requestId)")
        unserved = page.locator("#plan-unserved")
        assert f"request {impossible['id']}" in unserved.inner_text()
        assert unserved.locator("li.reason").count() >= 1
        assert page.locator("#plan-per-org").is_visible()
        assert "never moves or drops a booked contact" in result.inner_text()
        assert page.locator("#plan-fairness").is_visible()
        with demo.api(ORG_A) as api:
            assert _scheduled_ids(api, now) == before, "a dry run must book nothing"
        page.screenshot(path=artifacts_dir() / "plan-dry-run-en-desktop.png", full_page=True)

        # Apply: the first click asks, Confirm runs the plan for real and lists what it booked.
        page.get_by_role("button", name="Apply this plan").click()
        with demo.api(ORG_A) as api:
            assert _scheduled_ids(api, now) == before, "asking to apply books nothing yet"
        page.get_by_role("button", name="Confirm").click()
        page.locator('#plan-result section[data-dry-run="false"]').wait_for(timeout=PLAN_WAIT_MS)
        booked = {int(i) for i in page.locator("#plan-contacts-table tr.plan-row").evaluate_all(
            "rs => rs.map(r => r.dataset.contactId).filter(Boolean)")}
        assert booked, "the applied plan should book contacts"
        with demo.api(ORG_A) as api:
            after = _scheduled_ids(api, now)
            assert after - before == booked
            assert _ok(api.get(f"/requests/{servable['id']}"))["state"] in {"served", "partly_served"}
            assert _ok(api.get(f"/requests/{impossible['id']}"))["state"] == "unserved"
        page.screenshot(path=artifacts_dir() / "plan-applied-en-desktop.png", full_page=True)

        # Cancel one of the contacts just booked from the upcoming list.
        victim = min(booked)
        upcoming = page.locator(f'#upcoming-table tr.upcoming-row[data-contact-id="{victim}"]')
        upcoming.wait_for()
        upcoming.get_by_role("button", name="Cancel").click()
        upcoming.get_by_role("button", name="Confirm").click()
        page.get_by_text(f"Contact {victim} cancelled.").wait_for()
        with demo.api(ORG_A) as api:
            assert _ok(api.get(f"/contacts/{victim}"))["status"] == "cancelled"
        assert page.locator(f'#upcoming-table tr.upcoming-row[data-contact-id="{victim}"]').count() == 0

        # The requests page says how each request stands after the run, with the scheduler's reasons.
        page.get_by_role("link", name="Requests").click()
        row = page.locator(f'tr.request-row[data-request-id="{impossible["id"]}"]')
        row.wait_for()
        assert row.get_attribute("data-state") == "unserved"
        assert row.locator("li.reason").count() >= 1
        served = page.locator(f'tr.request-row[data-request-id="{servable["id"]}"]')
        assert served.get_attribute("data-state") in {"served", "partly_served"}
        page.screenshot(path=artifacts_dir() / "requests-states-en-desktop.png", full_page=True)


def test_viewer_sees_no_write_controls_and_forced_writes_are_refused(browser: Any, demo: DemoServer) -> None:
    viewer = _viewer_token(demo, "console planning viewer")
    with demo.api(ORG_A) as api:
        now = _now(api)
        satellite = _own_satellite(api)
        request = _ok(api.post("/requests", json={
            "satellite_id": satellite["id"], "window_start": iso(now + timedelta(hours=1)),
            "window_end": iso(now + timedelta(hours=8))}), 201)
        contact_id = min(_scheduled_ids(api, now))
    with watched_page(browser, demo) as page:
        sign_in(page, viewer, ORG_A)
        page.get_by_role("link", name="Requests").click()
        page.locator(f'tr.request-row[data-request-id="{request["id"]}"]').wait_for()
        assert page.locator("#requests-viewer-note").is_visible()
        assert page.locator("#request-form").count() == 0
        assert page.locator("#requests-table button").count() == 0
        page.screenshot(path=artifacts_dir() / "requests-viewer-en-desktop.png", full_page=True)
        page.get_by_role("link", name="Plan").click()
        page.wait_for_selector("#upcoming-table, #plan-contacts-empty")
        assert page.locator("#plan-viewer-note").is_visible()
        assert page.locator("#plan-form").count() == 0
        assert page.get_by_role("button", name="Dry run").count() == 0
        assert page.locator(".cancel-contact").count() == 0
        page.screenshot(path=artifacts_dir() / "plan-viewer-en-desktop.png", full_page=True)
    with httpx.Client(base_url=demo.server.base_url, headers={"Authorization": f"Bearer {viewer}"}) as forced:
        attempts = [
            forced.post("/requests", json={"satellite_id": satellite["id"], "window_start": iso(now),
                                           "window_end": iso(now + timedelta(hours=3))}),
            forced.patch(f"/requests/{request['id']}", json={"priority": 3}),
            forced.post(f"/requests/{request['id']}/cancel"),
            forced.post("/schedule/runs", json={"start": iso(now), "hours": 6, "dry_run": True}),
            forced.post(f"/contacts/{contact_id}/cancel"),
        ]
    assert [r.status_code for r in attempts] == [403] * len(attempts), [r.text for r in attempts]
