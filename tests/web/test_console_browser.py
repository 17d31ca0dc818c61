"""The console in real headless Chromium: each role signs in through the form and sees its own
page with real data in Chinese, then in English; a household confirms a visit with the worker's
code; the worker's map has one marker per stop; auditors see ID numbers masked unless
civil-affairs; someone else's object, a POST without the CSRF token and a spent session are
refused."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from playwright.sync_api import Page, expect

from core.db import read_only
from marketplace.orders import service as orders_service
from tests.web.browser import screenshot, sign_in
from tests.web.conftest import Site
from tests.web.world import ADDRESS, DAY, ELDER, ELDER_ID, ELDER_ID_MASKED

if TYPE_CHECKING:  # playwright does not export its cookie type
    from playwright._impl._api_structures import SetCookieParam


def test_a_household_sees_its_orders_and_confirms_a_visit_with_the_code(
    page: Page, site: Site, tmp_path: Path
) -> None:
    world = site.world
    sign_in(page, "home", world.password)
    expect(page).to_have_url(f"{site.base_url}/console/orders")
    expect(page.locator("h1")).to_have_text("我的订单")
    rows = page.locator("table.orders tbody tr")
    expect(rows).to_have_count(2)  # the elder's orders a and b, not the neighbour's
    row = page.locator(f"tr[data-order='{world.orders['a']}']")
    expect(row.locator("td.status")).to_have_text("已完成")
    expect(row.locator("td.copay")).to_have_text("¥16.00")  # 低保: ¥80.00 less ¥64.00 subsidy
    expect(row).to_contain_text("¥64.00")
    screenshot(page, tmp_path, "orders-zh")

    form = row.locator("form.confirm")
    form.locator("input[name=code]").fill("000000" if world.codes["a"] != "000000" else "111111")
    form.locator("button").click()
    expect(row.locator(".result .error")).to_have_text("确认码不正确，请核对后重试。")

    form.locator("input[name=code]").fill(world.codes["a"])
    form.locator("button").click()
    expect(row.locator(".confirmed")).to_have_text("服务已确认，订单已结算。")
    with read_only() as session:
        order = orders_service.get_by_public_id_or_raise(session, world.orders["a"])
        assert order.status == "settled"

    page.click("a.lang")
    expect(page.locator("h1")).to_have_text("My orders")
    expect(page.locator("table.orders thead")).to_contain_text("Co-pay")
    expect(row.locator("td.status")).to_have_text("Settled")
    page.goto("/console/orders")  # the choice is remembered
    expect(page.locator("h1")).to_have_text("My orders")
    screenshot(page, tmp_path, "orders-en")


def test_the_worker_sees_the_day_in_order_with_one_marker_per_stop(
    page: Page, site: Site, tmp_path: Path
) -> None:
    sign_in(page, "wkr", site.world.password)
    expect(page).to_have_url(f"{site.base_url}/console/route")
    page.goto(f"/console/route?date={DAY.isoformat()}")
    expect(page.locator("h1")).to_contain_text("今日路线")
    stops = page.locator("table.stops tbody tr")
    expect(stops).to_have_count(4)
    expect(stops.first).to_contain_text(ADDRESS)
    expect(stops.first).to_contain_text("08:00")
    expect(stops.nth(3)).to_contain_text("待服务")
    orders = [stops.nth(i).get_attribute("data-order") for i in range(4)]
    world = site.world
    assert orders == [world.orders[k] for k in "abcd"]
    expect(page.locator("svg.route-map circle.stop")).to_have_count(4)
    expect(page.locator("svg.route-map polyline.route-line")).to_have_count(1)
    assert len(page.locator("polyline.route-line").get_attribute("points").split()) == 4  # type: ignore[union-attr]
    screenshot(page, tmp_path, "route-zh")

    page.click("a.lang")
    expect(page.locator("table.stops thead")).to_contain_text("Address")
    page.goto("/console/route?date=2026-12-02")
    expect(page.locator("p.empty")).to_have_text("Nothing booked on this day.")
    assert ADDRESS not in page.content()


def test_auditors_see_findings_with_id_numbers_masked_unless_civil_affairs(
    page: Page, site: Site, tmp_path: Path
) -> None:
    world = site.world
    sign_in(page, "aud", world.password)
    expect(page).to_have_url(f"{site.base_url}/console/findings")
    expect(page.locator(f"tr[data-finding='{world.finding}']")).to_have_count(1)
    page.select_option("select[name=rule]", "other_worker")
    page.click("form.filters button")
    expect(page.locator("table.findings tbody tr")).to_have_count(1)
    page.select_option("select[name=status]", "dismissed")
    page.click("form.filters button")
    expect(page.locator("p.empty")).to_have_text("没有符合条件的发现。")
    screenshot(page, tmp_path, "findings-zh")

    page.goto(f"/console/findings/{world.finding}")
    involved = page.locator("table.involved tbody tr")
    expect(involved).to_contain_text(ELDER)
    expect(involved.locator("td.id-number")).to_contain_text(ELDER_ID_MASKED)
    assert ELDER_ID not in page.content()
    expect(page.locator("table.evidence")).to_contain_text("scheduled_worker_id")
    screenshot(page, tmp_path, "finding-zh")
    page.click("a.lang")
    expect(page.locator("h2").first).to_have_text("Evidence")

    page.context.clear_cookies()
    sign_in(page, "aud.ca", world.password)
    page.goto(f"/console/findings/{world.finding}")
    expect(page.locator("table.involved td.id-number")).to_have_text(ELDER_ID)


def test_someone_elses_objects_and_pages_are_refused(page: Page, site: Site) -> None:
    world = site.world
    sign_in(page, "home", world.password)
    expect(page.locator("h1")).to_have_text("我的订单")
    csrf = page.locator("form.sign-out input[name=csrf_token]").input_value()
    theirs = page.request.post(
        f"/console/orders/{world.orders['c']}/confirm",
        form={"code": world.codes["c"], "csrf_token": csrf},
    )
    assert theirs.status == 404
    assert "页面不存在，或您无权查看。" in theirs.text()
    page.goto("/console/findings")
    expect(page.locator("p.error")).to_have_text("您无权查看此页面。")
    page.goto("/console/route")
    expect(page.locator("p.error")).to_have_attribute("data-status", "403")
    with read_only() as session:
        order = orders_service.get_by_public_id_or_raise(session, world.orders["c"])
        assert order.status == "completed"  # not confirmed by the stranger


def test_a_post_without_the_csrf_token_is_refused(page: Page, site: Site) -> None:
    sign_in(page, "home", site.world.password)
    expect(page.locator("h1")).to_have_text("我的订单")
    refused = page.request.post(
        f"/console/orders/{site.world.orders['b']}/confirm", form={"code": site.world.codes["b"]}
    )
    assert refused.status == 403
    assert "表单已过期或来源不明" in refused.text()
    forged = page.request.post(
        f"/console/orders/{site.world.orders['b']}/confirm",
        form={"code": site.world.codes["b"], "csrf_token": "0" * 64},
    )
    assert forged.status == 403
    signed_out = page.request.post("/console/sign-out", form={})
    assert signed_out.status == 403
    page.goto("/console/orders")
    expect(page.locator("h1")).to_have_text("我的订单")  # still signed in


def test_signing_out_ends_the_session_and_its_cookie(page: Page, site: Site) -> None:
    sign_in(page, "home.out", site.world.password)
    expect(page.locator("h1")).to_have_text("我的订单")
    (kept,) = [c for c in page.context.cookies() if c["name"] == "linli_session"]
    assert kept["httpOnly"] and kept["sameSite"] == "Strict"
    page.click("form.sign-out button")
    expect(page).to_have_url(f"{site.base_url}/console/sign-in")
    page.go_back()
    expect(page).to_have_url(f"{site.base_url}/console/sign-in")
    replayed: SetCookieParam = {
        "name": kept["name"],
        "value": kept["value"],
        "url": f"{site.base_url}/console/",
    }
    page.context.add_cookies([replayed])  # the old cookie, replayed
    page.goto("/console/orders")
    expect(page).to_have_url(f"{site.base_url}/console/sign-in")
    expect(page.locator("h1")).to_have_text("登录")


def test_logout_everywhere_through_the_api_ends_console_sessions(page: Page, site: Site) -> None:
    sign_in(page, "home.everywhere", site.world.password)
    expect(page.locator("h1")).to_have_text("我的订单")
    tokens = httpx.post(
        f"{site.base_url}/auth/token",
        data={"username": "home.everywhere", "password": site.world.password},
    ).json()
    ended = httpx.post(
        f"{site.base_url}/auth/logout-everywhere",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert ended.status_code == 204
    page.goto("/console/orders")
    expect(page).to_have_url(f"{site.base_url}/console/sign-in")


def test_a_wrong_password_shows_the_form_again_with_the_error(
    page: Page, site: Site, tmp_path: Path
) -> None:
    sign_in(page, "neighbour", "not-the-password")
    expect(page.locator("p.error")).to_have_text("用户名或密码不正确。")
    screenshot(page, tmp_path, "sign-in-zh")
    page.click("a.lang")
    expect(page.locator("h1")).to_have_text("Sign in")
    sign_in(page, "neighbour", site.world.password)
    expect(page.locator("h1")).to_have_text("My orders")
