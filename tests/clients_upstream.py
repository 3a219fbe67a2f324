"""The upstream API the typed-client tests generate clients of: a real FastAPI app.

``billing_app(edit)`` serves invoices (create, read, filtered list, patch, delete, a bulk
import taking a list, a hyphenated header and query parameter, a path
parameter needing escapes, a 204); ``edit`` removes a
field or an operation, as an upstream team might. tests/test_clients.py imports it in its
own process (for the OpenAPI document) and in the service's (to serve the calls).
"""

import enum
import uuid
from typing import Annotated

from fastapi import FastAPI, Header, HTTPException, Query, Response
from pydantic import BaseModel, ConfigDict, Field


class Status(enum.StrEnum):
    DRAFT = "draft"
    PAID = "paid"


def billing_app(edit: str = "") -> FastAPI:
    class InvoiceCreate(BaseModel):
        """A new invoice."""

        model_config = ConfigDict(extra="forbid")
        amount: int = Field(ge=0)
        status: Status = Status.DRAFT
        note: str | None = None
        tags: list[str] = []

    class InvoiceUpdate(BaseModel):
        model_config = ConfigDict(extra="forbid")
        note: str | None = None

    class InvoiceRead(BaseModel):
        """An invoice as the API returns it."""

        id: uuid.UUID
        amount: int
        status: Status
        note: str | None
        tags: list[str]
        if edit != "removed-field":
            reference: str

    class Page(BaseModel):
        items: list[InvoiceRead]
        total: int

    app = FastAPI(title="billing", version="1.2.0")
    invoices: dict[uuid.UUID, InvoiceRead] = {}

    def read(invoice_id: uuid.UUID) -> InvoiceRead:
        if invoice_id not in invoices:
            raise HTTPException(404, "no such invoice")
        return invoices[invoice_id]

    @app.post("/invoices", status_code=201)
    async def create_invoice(
        body: InvoiceCreate,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> InvoiceRead:
        invoice_id = uuid.uuid4()
        fields = body.model_dump()
        if edit != "removed-field":
            fields["reference"] = idempotency_key or "none"
        invoices[invoice_id] = InvoiceRead(id=invoice_id, **fields)
        return invoices[invoice_id]

    @app.get("/invoices/{invoice_id}")
    async def get_invoice(invoice_id: uuid.UUID) -> InvoiceRead:
        return read(invoice_id)

    @app.get("/invoices")
    async def list_invoices(
        status: Status | None = None,
        tag: Annotated[list[str] | None, Query()] = None,
        limit: Annotated[int, Query(ge=1)] = 50,
    ) -> Page:
        found = [
            invoice
            for invoice in invoices.values()
            if (status is None or invoice.status == status)
            and (not tag or set(tag) <= set(invoice.tags))
        ]
        return Page(items=found[:limit], total=len(found))

    @app.patch("/invoices/{invoice_id}")
    async def update_invoice(
        invoice_id: uuid.UUID,
        body: InvoiceUpdate,
        if_match: Annotated[str | None, Header(alias="if-match")] = None,
    ) -> InvoiceRead:
        invoice = read(invoice_id)
        if if_match is not None and if_match != str(invoice.amount):
            raise HTTPException(412, "stale")
        invoices[invoice_id] = invoice.model_copy(update=body.model_dump(exclude_unset=True))
        return invoices[invoice_id]

    if edit != "removed-operation":

        @app.delete("/invoices/{invoice_id}", status_code=204)
        async def delete_invoice(invoice_id: uuid.UUID) -> Response:
            read(invoice_id)
            del invoices[invoice_id]
            return Response(status_code=204)

    @app.post("/invoices/import", status_code=201)
    async def import_invoices(body: list[InvoiceCreate]) -> list[uuid.UUID]:
        return [(await create_invoice(item)).id for item in body]

    @app.get("/customers/{customer_id}/balance")
    async def customer_balance(
        customer_id: str, in_cents: Annotated[bool, Query(alias="in-cents")] = False
    ) -> int:
        return len(customer_id) * (100 if in_cents else 1)

    return app
