"""OpenAPI links: which value of one operation's answer (or request) feeds which parameter of
the next, so a client — and schemathesis's stateful tests — can follow one call with another.

The routers stay unaware of them: ``install`` adds the table below to the generated document.
A link names its operations by method and path; a route renamed or removed fails
``tests/api/test_links.py`` (and the document's generation), never silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

ID = "$response.body#/id"
FIRST_ITEM_ID = "$response.body#/items/0/id"


@dataclass(frozen=True, slots=True)
class Link:
    """From a response (``source`` operation, ``status``) to the ``target`` operation: its
    parameters (and body fields) and the runtime expressions that fill them."""

    source: str
    status: str
    target: str
    parameters: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, str] | None = None
    description: str = ""


def _fan_out(
    source: str, status: str, targets: Iterable[str], parameter: str, expression: str
) -> tuple[Link, ...]:
    return tuple(Link(source, status, target, {parameter: expression}) for target in targets)


ORDER_ACTIONS = (
    "GET /orders/{order_id}",
    "POST /orders/{order_id}/cancel",
    "POST /orders/{order_id}/confirm",
    "POST /orders/{order_id}/reschedule",
    "POST /orders/{order_id}/rating",
)
MEMBER_ACTIONS = (
    "GET /members/{member_id}",
    "PUT /members/{member_id}/preferences",
    "GET /members/{member_id}/proxies",
    "POST /members/{member_id}/proxies",
    "GET /members/{member_id}/protected-statuses",
    "POST /members/{member_id}/protected-statuses",
)
STATUS_REVIEWS = (
    "POST /admin/protected-statuses/{status_id}/approve",
    "POST /admin/protected-statuses/{status_id}/reject",
    "POST /admin/protected-statuses/{status_id}/revoke",
)
USER_SWITCHES = ("POST /admin/users/{user_id}/disable", "POST /admin/users/{user_id}/enable")
PROVIDER_ACTIONS = (
    "GET /providers/{provider_id}/workers",
    "POST /providers/{provider_id}/workers",
    "GET /providers/{provider_id}/tariffs",
    "GET /providers/{provider_id}/routes",
)
WORKER_ACTIONS = (
    "GET /workers/{worker_id}",
    "POST /workers/{worker_id}/deactivate",
    "PUT /workers/{worker_id}/shifts",
    "GET /workers/{worker_id}/certificates",
    "POST /workers/{worker_id}/certificates",
    "POST /workers/{worker_id}/shift-exceptions",
    "GET /workers/{worker_id}/availability",
)
RUN_ACTIONS = (
    "GET /dispatch/runs/{run_id}",
    "GET /dispatch/runs/{run_id}/plan",
    "GET /dispatch/runs/{run_id}/events",
    "DELETE /dispatch/runs/{run_id}",
)
PROXY_ACTIONS = ("POST /proxies/{proxy_id}/invitation", "POST /proxies/{proxy_id}/deactivate")
EXPORT_ACTIONS = ("GET /audit/exports/{export_id}", "GET /audit/exports/{export_id}/file")
FINDING_ACTIONS = ("GET /audit/findings/{finding_id}", "POST /audit/findings/{finding_id}/review")

LINKS: tuple[Link, ...] = (
    # orders: the one just made, the first of a page, the next step of one just changed
    *_fan_out("POST /orders", "201", ORDER_ACTIONS, "order_id", ID),
    *_fan_out("GET /orders", "200", ORDER_ACTIONS, "order_id", FIRST_ITEM_ID),
    *_fan_out("POST /orders/{order_id}/confirm", "200", ORDER_ACTIONS[:4], "order_id", ID),
    *_fan_out("POST /orders/{order_id}/reschedule", "200", ORDER_ACTIONS[:3], "order_id", ID),
    Link(
        "POST /quotes",
        "200",
        "POST /orders",
        body={
            "member": "$request.body#/member",
            "provider": "$request.body#/provider",
            "item": "$request.body#/item",
        },
        description="Order what was just priced",
    ),
    # households: the new member, the household's members, the new household's account
    *_fan_out("POST /households/me/members", "201", MEMBER_ACTIONS, "member_id", ID),
    *_fan_out(
        "GET /households/me", "200", MEMBER_ACTIONS, "member_id", "$response.body#/members/0/id"
    ),
    *_fan_out(
        "POST /households/register",
        "201",
        MEMBER_ACTIONS[:1],
        "member_id",
        "$response.body#/member/id",
    ),
    Link(
        "POST /households/register",
        "201",
        "POST /auth/token",
        body={"username": "$request.body#/username", "password": "$request.body#/password"},
        description="Sign the new household's account in",
    ),
    # proxies and protected statuses
    *_fan_out("POST /members/{member_id}/proxies", "201", PROXY_ACTIONS, "proxy_id", ID),
    *_fan_out("GET /members/{member_id}/proxies", "200", PROXY_ACTIONS, "proxy_id", FIRST_ITEM_ID),
    *_fan_out(
        "POST /members/{member_id}/protected-statuses", "201", STATUS_REVIEWS, "status_id", ID
    ),
    *_fan_out(
        "GET /members/{member_id}/protected-statuses",
        "200",
        STATUS_REVIEWS,
        "status_id",
        FIRST_ITEM_ID,
    ),
    *_fan_out("GET /admin/protected-statuses", "200", STATUS_REVIEWS, "status_id", FIRST_ITEM_ID),
    # accounts
    *_fan_out("POST /admin/users", "201", USER_SWITCHES, "user_id", ID),
    *_fan_out("GET /admin/users", "200", USER_SWITCHES, "user_id", FIRST_ITEM_ID),
    Link("POST /admin/users/{user_id}/disable", "200", USER_SWITCHES[1], {"user_id": ID}),
    # providers and their workers
    *_fan_out(
        "GET /providers",
        "200",
        ("GET /providers/{provider_id}", *PROVIDER_ACTIONS),
        "provider_id",
        FIRST_ITEM_ID,
    ),
    *_fan_out("GET /providers/{provider_id}", "200", PROVIDER_ACTIONS, "provider_id", ID),
    *_fan_out("POST /providers/{provider_id}/workers", "201", WORKER_ACTIONS, "worker_id", ID),
    *_fan_out(
        "GET /providers/{provider_id}/workers", "200", WORKER_ACTIONS, "worker_id", FIRST_ITEM_ID
    ),
    # dispatch runs
    *_fan_out(
        "POST /dispatch/runs",
        "202",
        (*RUN_ACTIONS, "POST /dispatch/runs/{run_id}/urgent"),
        "run_id",
        ID,
    ),
    *_fan_out("POST /dispatch/runs/{run_id}/urgent", "202", RUN_ACTIONS, "run_id", ID),
    # audit findings, runs and exports
    *_fan_out("GET /audit/findings", "200", FINDING_ACTIONS, "finding_id", FIRST_ITEM_ID),
    Link("POST /audit/runs", "202", "GET /audit/runs/{run_id}", {"run_id": ID}),
    Link("GET /audit/runs", "200", "GET /audit/runs/{run_id}", {"run_id": FIRST_ITEM_ID}),
    *_fan_out("POST /audit/exports", "202", EXPORT_ACTIONS, "export_id", ID),
    *_fan_out("GET /audit/exports", "200", EXPORT_ACTIONS, "export_id", FIRST_ITEM_ID),
)


def _operation(document: Mapping[str, Any], label: str) -> dict[str, Any]:
    method, path = label.split(" ", 1)
    try:
        operation: dict[str, Any] = document["paths"][path][method.lower()]
    except KeyError:
        raise LookupError(f"a link names {label}, which the API does not have") from None
    return operation


def link_name(operation_id: str, path: str, method: str) -> str:
    """The link's name: the target's route name (its operationId without the path and method
    FastAPI appends to it)."""
    return operation_id.removesuffix(re.sub(r"\W", "_", path) + "_" + method.lower())


def add_links(document: dict[str, Any], links: Iterable[Link] = LINKS) -> dict[str, Any]:
    """Write ``links`` into the document's responses (in place) and return it."""
    for link in links:
        source = _operation(document, link.source)
        target = _operation(document, link.target)
        try:
            response = source["responses"][link.status]
        except KeyError:
            raise LookupError(f"{link.source} declares no {link.status} response") from None
        method, path = link.target.split(" ", 1)
        definition: dict[str, Any] = {"operationId": target["operationId"]}
        if link.parameters:
            definition["parameters"] = dict(link.parameters)
        if link.body is not None:
            definition["requestBody"] = dict(link.body)
        if link.description:
            definition["description"] = link.description
        name = link_name(target["operationId"], path, method)
        named = response.setdefault("links", {})
        if name in named:
            raise ValueError(f"{link.source} {link.status} has two links named {name}")
        named[name] = definition
    return document


def install(app: FastAPI) -> None:
    """Have the app's OpenAPI document carry ``LINKS`` (generated once, then cached)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        app.openapi_schema = add_links(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
