"""msgen.http_contracts: a client built from one OpenAPI document, the upstream's API now.

Each case builds the upstream as a real FastAPI app (``api()``: one resource, a create, a
read and a filtered list) with one edit, and compares its OpenAPI document with the
unedited one's, as ``msgen check contracts`` does with a caller's snapshot.
"""

import enum
import uuid
from typing import Annotated, Any

import pytest
from fastapi import FastAPI, Header, Query
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field

from msgen.http_contracts import compare_openapi


def api(edit: str = "") -> dict[str, Any]:
    """The upstream's OpenAPI document, with ``edit`` applied to its code."""

    class Status(enum.StrEnum):
        """What the upstream answers."""

        DRAFT = "draft"
        PAID = "paid"
        if edit == "response-new-enum":
            VOID = "void"

    class Wanted(enum.StrEnum):
        """What the upstream takes (in a body and as a filter)."""

        DRAFT = "draft"
        if edit == "wider-enum":
            VOID = "void"
        if edit != "narrowed-enum":
            PAID = "paid"

    class InvoiceCreate(BaseModel):
        model_config = ConfigDict(extra="forbid")
        amount: int = Field(ge=0) if edit != "stricter-bound" else Field(ge=100)
        status: Wanted = Wanted.DRAFT
        if edit != "removed-request-field":
            note: str | None = None
        if edit == "new-required-field":
            currency: str
        if edit == "new-optional-field":
            reference: str | None = None

    class InvoiceRead(BaseModel):
        id: uuid.UUID
        if edit == "retyped-response-field":
            amount: str
        else:
            amount: int
        status: Status
        if edit != "removed-response-field":
            note: str | None
        if edit == "new-optional-field":
            reference: str | None = None

    app = FastAPI(title="billing", version="1")
    code = 200 if edit == "changed-status" else 201

    @app.post("/invoices", status_code=code)
    async def create_invoice(payload: InvoiceCreate) -> InvoiceRead:
        raise NotImplementedError

    if edit != "removed-path":
        if edit == "renamed-parameter":

            @app.get("/invoices/{id}")
            async def get_invoice_by_id(id: uuid.UUID) -> InvoiceRead:
                raise NotImplementedError
        else:

            @app.get("/invoices/{invoice_id}")
            async def get_invoice(invoice_id: uuid.UUID) -> InvoiceRead:
                raise NotImplementedError

    if edit != "removed-method":

        @app.delete("/invoices/{invoice_id}", status_code=204)
        async def delete_invoice(invoice_id: uuid.UUID) -> None:
            raise NotImplementedError

    @app.get("/invoices")
    async def list_invoices(
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        status: Annotated[Wanted | None, Query()] = None,
        tenant: Annotated[str | None, Header()] = None,
    ) -> list[InvoiceRead]:
        raise NotImplementedError

    if edit in ("new-required-parameter", "removed-parameter"):
        app.router.routes = [
            r for r in app.router.routes if getattr(r, "name", "") != "list_invoices"
        ]

        if edit == "new-required-parameter":

            @app.get("/invoices")
            async def list_invoices_v2(
                region: Annotated[str, Query()],
                limit: Annotated[int, Query(ge=1, le=100)] = 20,
                status: Annotated[Wanted | None, Query()] = None,
                tenant: Annotated[str | None, Header()] = None,
            ) -> list[InvoiceRead]:
                raise NotImplementedError
        else:

            @app.get("/invoices")
            async def list_invoices_v3(
                limit: Annotated[int, Query(ge=1, le=100)] = 20,
                tenant: Annotated[str | None, Header()] = None,
            ) -> list[InvoiceRead]:
                raise NotImplementedError

    if edit == "new-operation":

        @app.post("/invoices/{invoice_id}/pay")
        async def pay_invoice(invoice_id: uuid.UUID) -> InvoiceRead:
            raise NotImplementedError

    return app.openapi()


def problems(edit: str) -> list[tuple[str, str, str]]:
    found, operations = compare_openapi(api(), api(edit), caller="orders", upstream="billing")
    assert operations == 4
    return [(p.kind, p.operation, p.where) for p in found]


def test_the_same_api_is_compatible() -> None:
    assert problems("") == []


@pytest.mark.parametrize(
    "edit", ["new-optional-field", "new-operation", "wider-enum", "renamed-parameter"]
)
def test_compatible_changes_pass(edit: str) -> None:
    assert problems(edit) == []


def test_a_removed_path_breaks_the_operations_on_it() -> None:
    assert problems("removed-path") == [
        ("removed-operation", "GET /invoices/{invoice_id}", ""),
    ]


def test_a_removed_method_breaks_that_operation_only() -> None:
    found, _ = compare_openapi(api(), api("removed-method"), caller="orders", upstream="billing")
    assert [(p.kind, p.operation) for p in found] == [
        ("removed-operation", "DELETE /invoices/{invoice_id}")
    ]
    assert found[0].message == "billing no longer answers DELETE on this path"


def test_a_new_required_request_field_breaks_the_create() -> None:
    found, _ = compare_openapi(
        api(), api("new-required-field"), caller="orders", upstream="billing"
    )
    assert [(p.kind, p.operation, p.where) for p in found] == [
        ("missing-field", "POST /invoices", "request body: currency")
    ]
    assert found[0].message == "billing requires it; orders does not send it"


def test_a_removed_request_field_is_refused_by_a_strict_upstream() -> None:
    assert problems("removed-request-field") == [
        ("extra-field", "POST /invoices", "request body: note")
    ]


def test_a_removed_response_field_breaks_every_operation_that_returns_it() -> None:
    assert problems("removed-response-field") == [
        ("missing-field", "GET /invoices", "response 200: [].note"),
        ("missing-field", "POST /invoices", "response 201: note"),
        ("missing-field", "GET /invoices/{invoice_id}", "response 200: note"),
    ]


def test_a_retyped_response_field_breaks_its_readers() -> None:
    kinds = {(kind, where) for kind, _, where in problems("retyped-response-field")}
    assert kinds == {
        ("type", "response 200: [].amount"),
        ("type", "response 201: amount"),
        ("type", "response 200: amount"),
    }


def test_a_narrowed_request_enum_breaks_the_senders_of_the_removed_value() -> None:
    found = problems("narrowed-enum")
    assert ("enum", "POST /invoices", "request body: status") in found
    assert ("enum", "GET /invoices", "query parameter status") in found


def test_a_new_response_enum_value_breaks_the_readers() -> None:
    assert ("enum", "GET /invoices/{invoice_id}", "response 200: status") in problems(
        "response-new-enum"
    )


def test_a_stricter_bound_breaks_the_create() -> None:
    assert problems("stricter-bound") == [("constraint", "POST /invoices", "request body: amount")]


def test_a_changed_status_code_breaks_the_create() -> None:
    found, _ = compare_openapi(api(), api("changed-status"), caller="orders", upstream="billing")
    assert [(p.kind, p.operation, p.where) for p in found] == [
        ("status-code", "POST /invoices", "response 200")
    ]
    assert found[0].message == "billing may answer 200; orders expects 201"


def test_a_new_required_parameter_breaks_the_list() -> None:
    assert problems("new-required-parameter") == [
        ("new-parameter", "GET /invoices", "query parameter region")
    ]


def test_a_removed_filter_breaks_the_list() -> None:
    assert problems("removed-parameter") == [
        ("removed-parameter", "GET /invoices", "query parameter status")
    ]


KEYS = st.sampled_from(
    [
        "paths", "/a", "/a/{x}", "get", "post", "parameters", "in", "query", "path", "name",
        "required", "requestBody", "content", "application/json", "schema", "responses",
        "200", "201", "$ref", "components", "schemas", "A", "type", "object", "properties",
        "enum", "items", "anyOf", "allOf",
    ]
)  # fmt: skip
REFS = st.sampled_from(["#/components/schemas/A", "#/paths", "#", "#/nope/~1x", "other.json#/A"])
DOCUMENTS = st.recursive(
    st.none() | st.booleans() | st.integers() | REFS | KEYS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(DOCUMENTS, DOCUMENTS)
def test_any_json_compares_without_failing(old: Any, new: Any) -> None:
    """Hostile or broken documents give problems, never an exception."""
    old = old if isinstance(old, dict) else {"paths": old}
    new = new if isinstance(new, dict) else {"paths": new}
    found, operations = compare_openapi(old, new)
    assert operations >= 0
    assert all(isinstance(str(problem), str) for problem in found)


def test_recursive_references_end() -> None:
    node = {"$ref": "#/components/schemas/A"}
    document = {
        "paths": {"/a": {"get": {"responses": {"200": {"content": {"application/json": {
            "schema": node}}}}}}},
        "components": {"schemas": {"A": {"type": "object", "properties": {"a": node},
                                         "required": ["a"]}}},
    }  # fmt: skip
    assert compare_openapi(document, document) == ([], 1)
