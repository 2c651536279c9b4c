"""The served OpenAPI document is valid OpenAPI 3.1, so client generators and fuzzers can use it."""

from __future__ import annotations

from collections import Counter

from openapi_spec_validator import validate
from starlette.testclient import TestClient


def test_served_openapi_document_is_valid_with_unique_operation_ids(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    ids = Counter(op["operationId"] for item in spec["paths"].values() for op in item.values())
    assert [name for name, n in ids.items() if n > 1] == []
    validate(spec)
    op = {path: {m: o["operationId"] for m, o in item.items()} for path, item in spec["paths"].items()}
    assert op["/api/auth/login"]["post"] == "login_post"  # a name used once keeps its plain id
    assert (op["/api/me"]["get"], op["/api/esign/me"]["get"]) == ("office_auth_me_get", "esign_me_get")
    assert (op["/api/docs/meta"]["get"], op["/api/incoming/meta"]["get"]) == (
        "docs_flow_meta_get",
        "docs_flow_incoming_meta_get",
    )
