"""RFC 9457 problem details (``application/problem+json``) for every error response."""

from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

PROBLEM_CONTENT_TYPE = "application/problem+json"


class Problem(BaseModel):
    """Problem details object (RFC 9457)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


class ValidationProblem(Problem):
    """422 problem: ``errors`` lists each invalid input's location, message and type."""

    errors: list[dict[str, Any]]


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_CONTENT_TYPE


def problem_response(
    request: Request,
    status: int,
    detail: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> ProblemResponse:
    """Build a problem response; ``type`` is ``about:blank``, so ``title`` is the status phrase."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extensions,
    }
    return ProblemResponse(body, status_code=status, headers=headers)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries: problem documents for ``statuses``."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        model = ValidationProblem if status == 422 else Problem
        responses[status] = {
            "content": {PROBLEM_CONTENT_TYPE: {"schema": model.model_json_schema()}},
        }
    return responses


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """The methods some route serves at the request's path (for ``Allow`` on a 405).

    Each method is tried against every route (included routers too); HEAD is served
    wherever GET is.
    """
    routes = request.app.router.routes
    allowed = {
        method
        for method in METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    }
    if "GET" in allowed:
        allowed.add("HEAD")
    return [method for method in METHODS if method in allowed]


def is_json(content_type: str | None) -> bool:
    """``application/json`` or a ``+json`` type, parameters aside."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def http_exception_handler(request: Request, exc: StarletteHTTPException) -> ProblemResponse:
    detail = exc.detail if isinstance(exc.detail, str) else None
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Starlette lists one route's methods; the path may have several routes.
        headers["Allow"] = ", ".join(allowed_methods(request))
    if exc.status_code == 422:
        # The documented 422 shape (ValidationProblem) always lists the errors.
        errors = [{"loc": [], "msg": detail or "invalid request", "type": "value_error"}]
        return problem_response(request, 422, detail, headers=headers or None, errors=errors)
    return problem_response(request, exc.status_code, detail, headers=headers or None)


async def validation_exception_handler(
    request: Request, exc: RequestValidationError
) -> ProblemResponse:
    """422 for invalid input; 415 for a body that is not JSON, 400 for JSON that does not parse."""
    raw = exc.errors()
    on_body = [error for error in raw if error["loc"][:1] == ("body",)]
    if on_body and not is_json(request.headers.get("content-type")):
        return problem_response(
            request,
            415,
            "The request body must be JSON (Content-Type: application/json).",
            headers={"Accept-Post": "application/json"} if request.method == "POST" else None,
        )
    if any(error["type"] == "json_invalid" for error in on_body):
        return problem_response(request, 400, "The request body is not valid JSON.")
    # Only location, message and type: echoing the input back could leak data into logs.
    errors = [
        {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]} for error in raw
    ]
    return problem_response(request, 422, "The request is invalid; see errors.", errors=errors)


async def unhandled_exception_handler(request: Request, exc: Exception) -> ProblemResponse:
    # Starlette re-raises the exception after this response is sent, so the server logs it.
    return problem_response(request, 500, "An unexpected error occurred.")


def register_exception_handlers(app: FastAPI) -> None:
    # Starlette types a handler as taking any exception; each here takes the one it is for.
    handlers: dict[type[Exception], Callable[..., Awaitable[ProblemResponse]]] = {
        StarletteHTTPException: http_exception_handler,
        RequestValidationError: validation_exception_handler,
        Exception: unhandled_exception_handler,
    }
    for exception, handler in handlers.items():
        app.add_exception_handler(exception, handler)
