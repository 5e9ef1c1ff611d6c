"""openapi/pos-api.yaml is a valid OpenAPI 3.1 document and describes exactly the /api/v1 routes the app serves.

Each POS API test also checks its responses against the document (tests.pos.assert_matches_openapi).
"""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from tests.factories import make_member
from tests.pos import assert_matches_openapi, open_shop, openapi_spec


def test_the_document_is_valid_openapi_3_1_with_a_bearer_scheme():
    spec = openapi_spec()

    validate(spec)

    assert spec["openapi"].startswith("3.1")
    assert spec["components"]["securitySchemes"]["storeKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["storeKey"]["description"],
    }
    assert spec["security"] == [{"storeKey": []}]


def test_the_document_describes_every_api_route_and_no_other(app):
    served = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1")), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    documented = {(path, method) for path, item in openapi_spec()["paths"].items() for method in item}

    assert served == documented


def test_a_response_that_breaks_the_schema_is_caught(client, runtime):
    shop = open_shop(runtime.sessions)
    make_member(runtime.sessions)
    response = client.get("/api/v1/members/M000001", headers=shop.auth)
    response.set_data(response.get_data(as_text=True).replace('"points":0', '"points":"0"'))

    try:
        assert_matches_openapi(response, "/members/{member_number}", "get")
    except Exception as exc:
        assert "'0' is not of type 'integer'" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("the schema check let a string through as points")
