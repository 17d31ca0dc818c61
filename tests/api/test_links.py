"""The OpenAPI links ``api.links`` adds: each names an operation and parameters that exist, each
runtime expression points at a field the source's schema has (so renaming a field fails here),
and the document stays a valid OpenAPI 3.1 document."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis

from api import links
from api.app import create_app

DOCUMENT = create_app().openapi()
EXPRESSION = re.compile(
    r"^\$(?P<side>request|response)\.(?:body#(?P<pointer>(?:/[^/]*)*)|path\.(?P<path>\w+))$"
)


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = document
        for token in schema["$ref"].removeprefix("#/").split("/"):
            node = node[token]
        schema = node
    return schema


def _branches(document: dict[str, Any], schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The schema and, through anyOf/oneOf/allOf, every alternative it allows."""
    schema = _resolve(document, schema)
    yield schema
    for keyword in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(keyword, ()):
            yield from _branches(document, branch)


def pointed(document: dict[str, Any], schema: dict[str, Any], pointer: str) -> dict[str, Any]:
    """The schema of the value at a JSON pointer into an instance of ``schema`` (KeyError when
    the schema has no such field)."""
    for raw in pointer.split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        for branch in _branches(document, schema):
            if token.isdigit() and "items" in branch:
                schema = branch["items"]
                break
            if token in branch.get("properties", {}):
                schema = branch["properties"][token]
                break
        else:
            raise KeyError(f"no {token!r} in {pointer}")
    return _resolve(document, schema)


def _types(document: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    found = {b["type"] for b in _branches(document, schema) if isinstance(b.get("type"), str)}
    return found - {"null"}


def _operations(document: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        op["operationId"]: (f"{method.upper()} {path}", op)
        for path, ops in document["paths"].items()
        for method, op in ops.items()
    }


def _body_schema(operation: dict[str, Any]) -> dict[str, Any]:
    content = operation["requestBody"]["content"]
    return next(iter(content.values()))["schema"]  # type: ignore[no-any-return]


def problems(document: dict[str, Any]) -> list[str]:
    """Every way a link of the document fails to fit the operations it joins."""
    by_id = _operations(document)
    found: list[str] = []
    for path, ops in document["paths"].items():
        for method, source in ops.items():
            for status, response in source["responses"].items():
                for name, link in response.get("links", {}).items():
                    where = f"{method.upper()} {path} {status} {name}"
                    found += _link_problems(document, by_id, where, source, response, link)
    return found


def _link_problems(
    document: dict[str, Any],
    by_id: dict[str, tuple[str, dict[str, Any]]],
    where: str,
    source: dict[str, Any],
    response: dict[str, Any],
    link: dict[str, Any],
) -> list[str]:
    if link.get("operationId") not in by_id:
        return [f"{where}: no operation {link.get('operationId')}"]
    _, target = by_id[link["operationId"]]
    found: list[str] = []

    def value_schema(expression: str) -> dict[str, Any] | None:
        match = EXPRESSION.match(expression)
        if match is None:
            found.append(f"{where}: {expression} is not an expression this test reads")
            return None
        if match["path"] is not None:
            params = {p["name"]: p for p in source.get("parameters", ()) if p["in"] == "path"}
            if match["path"] not in params:
                found.append(f"{where}: the source has no path parameter {match['path']}")
                return None
            return _resolve(document, params[match["path"]]["schema"])
        if match["side"] == "response":
            schema = response["content"]["application/json"]["schema"]
        else:
            schema = _body_schema(source)
        try:
            return pointed(document, schema, match["pointer"])
        except KeyError as exc:
            found.append(f"{where}: {expression}: {exc.args[0]}")
            return None

    declared = {p["name"]: p for p in target.get("parameters", ())}
    for qualified, expression in link.get("parameters", {}).items():
        name = qualified.split(".", 1)[-1]
        if name not in declared:
            found.append(f"{where}: {link['operationId']} has no parameter {name}")
            continue
        given = value_schema(expression)
        wanted = _types(document, declared[name]["schema"])
        if given is not None and wanted and not _types(document, given) & wanted:
            found.append(f"{where}: {expression} is not a {'/'.join(sorted(wanted))}")
    if "requestBody" in link:
        fields = pointed(document, _body_schema(target), "").get("properties", {})
        for field, expression in link["requestBody"].items():
            if field not in fields:
                found.append(f"{where}: {link['operationId']}'s body has no {field}")
            value_schema(expression)
    return found


def test_every_link_fits_the_operations_it_joins() -> None:
    assert problems(DOCUMENT) == []


def test_every_declared_link_is_in_the_document() -> None:
    written = sum(
        len(response.get("links", {}))
        for ops in DOCUMENT["paths"].values()
        for op in ops.values()
        for response in op["responses"].values()
    )
    assert written == len(links.LINKS)


def test_the_document_is_valid_openapi_3_1() -> None:
    assert DOCUMENT["openapi"].startswith("3.1.")
    document = copy.deepcopy(DOCUMENT)
    # The spec lets URLs be relative references; the 3.1 meta-schema still says `format: uri`
    # for tokenUrl (OAI/OpenAPI-Specification#4327), so the check reads it against a base.
    for scheme in document["components"]["securitySchemes"].values():
        for flow in scheme.get("flows", {}).values():
            flow["tokenUrl"] = "https://linli.example" + flow["tokenUrl"]
    schemathesis.openapi.from_dict(document).validate()


def test_a_renamed_field_is_caught() -> None:
    document = copy.deepcopy(DOCUMENT)
    order = document["components"]["schemas"]["OrderPublic"]
    order["properties"]["order_id"] = order["properties"].pop("id")
    found = problems(document)
    assert any("POST /orders 201 get_order" in p and "'id'" in p for p in found), found


def test_a_wrong_type_or_parameter_is_caught() -> None:
    document = copy.deepcopy(DOCUMENT)
    approve = document["paths"]["/orders"]["post"]["responses"]["201"]["links"]
    approve["get_order"]["parameters"] = {"order": "$response.body#/id"}
    approve["cancel_order"]["parameters"] = {"order_id": "$response.body#/quantity"}
    found = problems(document)
    assert any("has no parameter order" in p for p in found), found
    assert any("/quantity is not a string" in p for p in found), found


def test_a_link_to_a_missing_operation_refuses_the_document() -> None:
    document = create_app().openapi()
    missing = links.Link(
        "POST /orders", "201", "GET /orders/{order_id}/nothing", {"x": "$response.body#/id"}
    )
    with pytest.raises(LookupError, match="nothing"):
        links.add_links(copy.deepcopy(document), [missing])
