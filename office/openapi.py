"""An OpenAPI 3.1 description built from the route table and each endpoint's body model."""

from __future__ import annotations

import inspect
import re
import sys
from collections import Counter
from functools import cache
from typing import Any

from starlette.routing import Route

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}, "request_id": {"type": "string"}},
}


_QUERY = re.compile(r'(?:ctx\.query(_int)?\(|_(?:time|ids)\(ctx,\s*|query_params\.get\()\s*"(\w+)"')
_CALL = re.compile(r"\b(_?\w+)\(")


@cache
def query_parameters(fn: Any) -> tuple[tuple[str, str], ...]:
    """(name, type) of the query parameters a handler reads, found in its source and in the helpers of
    its own module it calls (``ctx.query("q")``, ``ctx.query_int("limit")``, ``_time(ctx, "start")``)."""
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        return ()
    module = sys.modules.get(fn.__module__)
    for name in set(_CALL.findall(source)):
        helper = getattr(module, name, None)
        if inspect.isfunction(helper) and helper is not fn and helper.__module__ == fn.__module__:
            try:
                source += inspect.getsource(helper)
            except OSError:
                pass
    found: dict[str, str] = {}
    for is_int, name in _QUERY.findall(source):
        found.setdefault(name, "integer" if is_int else "string")
    return tuple(sorted(found.items()))


def _api_routes(routes: list[Any]) -> list[Route]:
    return [r for r in routes if isinstance(r, Route) and r.path.startswith(("/api", "/healthz"))]


def _qualified(endpoint: Any) -> str:
    """The endpoint's name with its module's ("docs_flow.incoming_routes" -> "docs_flow_incoming_meta"),
    unique because a module defines a name once."""
    module = getattr(getattr(endpoint, "__handler__", endpoint), "__module__", "")
    parts = [p for p in re.split(r"[._]", module) if p != "routes"]
    return "_".join([*parts, endpoint.__name__])


def operation_ids(routes: list[Any]) -> dict[tuple[str, str], str]:
    """(path, method) -> operationId: ``<endpoint>_<method>`` (``me_get``), or, for a name that two
    modules use, qualified with the module (``office_auth_me_get``, ``esign_me_get``). Operation
    ids must be unique in the document (OpenAPI 3.1 §4.8.10.1): client generators name methods
    after them."""
    plain: dict[tuple[str, str], str] = {}
    for route in _api_routes(routes):
        for method in (route.methods or set()) - {"HEAD"}:
            plain[(route.path, method)] = f"{route.endpoint.__name__}_{method.lower()}"
    used = Counter(plain.values())
    out: dict[tuple[str, str], str] = {}
    for route in _api_routes(routes):
        for method in (route.methods or set()) - {"HEAD"}:
            name = plain[(route.path, method)]
            out[(route.path, method)] = name if used[name] == 1 else f"{_qualified(route.endpoint)}_{method.lower()}"
    return out


def build(routes: list[Any], *, title: str = "通办 Tongban API", version: str = "0.1.0") -> dict[str, Any]:
    paths: dict[str, Any] = {}
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    ids = operation_ids(routes)
    for route in _api_routes(routes):
        path = re.sub(r"{(\w+):\w+}", r"{\1}", route.path)
        params = [
            {"name": n, "in": "path", "required": True, "schema": {"type": "integer"}}
            for n in re.findall(r"{(\w+):int}", route.path)
        ]
        params += [
            {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
            for n in re.findall(r"{(\w+)}", route.path)
        ]
        for method in sorted((route.methods or set()) - {"HEAD"}):
            op: dict[str, Any] = {
                "operationId": ids[(route.path, method)],
                "summary": (route.endpoint.__doc__ or route.endpoint.__name__).strip().split("\n")[0],
                "responses": {
                    "default": {
                        "description": "错误",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                    }
                },
                "x-policy": getattr(route.endpoint, "__policy__", None),
            }
            handler = getattr(route.endpoint, "__handler__", None)
            query = [
                {"name": n, "in": "query", "required": False, "schema": {"type": t}}
                for n, t in (query_parameters(handler) if handler else ())
            ]
            if params or query:
                op["parameters"] = params + query
            body = getattr(route.endpoint, "__body__", None)
            if body is not None:
                schema = body.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, sub in schema.pop("$defs", {}).items():
                    components[name] = sub
                components[body.__name__] = schema
                op["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body.__name__}"}}},
                }
            elif getattr(route.endpoint, "__multipart__", False):
                op["requestBody"] = {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "properties": {"file": {"type": "string", "format": "binary"}},
                            }
                        }
                    },
                }
            op["responses"]["2XX"] = {"description": "成功"}
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {"schemas": components},
    }
