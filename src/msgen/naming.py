"""Name rules and the names derived from them.

A service name must work at once as a DNS-1123 label (a Kubernetes Service name, a compose
service, a Consul service) and, with hyphens mapped to underscores, as an importable Python
package that shadows nothing the service imports. Everything the templates need (package,
resource class, table name, URL path) is derived here and passed to copier as data, so the
templates hold no naming logic.

This module imports nothing heavy: ``msgen --help`` must stay fast.
"""

from __future__ import annotations

import keyword
import re
import sys
from dataclasses import dataclass

from msgen.errors import InvalidNameError, PortError

__all__ = [
    "MAX_NAME_LENGTH",
    "PORT_RANGE",
    "ServiceNames",
    "check_port",
    "derive_names",
    "next_free_port",
    "pluralize",
    "singularize",
    "validate_resource_name",
    "validate_service_name",
    "validate_system_name",
]

MAX_NAME_LENGTH = 40
PORT_RANGE = range(1024, 65536)
FIRST_SERVICE_PORT = 8001

_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_RESOURCE = re.compile(r"^[A-Za-z][A-Za-z0-9]*([-_][A-Za-z0-9]+)*$")
_CAMEL_SPLIT = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|[-_]")

# Packages a generated service imports (or its tests and tools do): a service package of
# the same name would shadow them.
_THIRD_PARTY = frozenset(
    {
        "aiosqlite",
        "alembic",
        "anyio",
        "asyncpg",
        "fastapi",
        "faststream",
        "httpx",
        "msgen",
        "opentelemetry",
        "prometheus_client",
        "pydantic",
        "pydantic_settings",
        "pytest",
        "ruff",
        "sqlalchemy",
        "starlette",
        "structlog",
        "tenacity",
        "uvicorn",
    }
)
# Directory and module names the generated project itself uses next to the package.
_PROJECT_NAMES = frozenset({"src", "tests", "test", "migrations", "site", "conftest"})
# Resource names that would clash with attributes and helpers in the generated code.
_RESERVED_RESOURCES = frozenset(
    {"base", "health", "info", "metadata", "model", "page", "session", "settings", "status"}
)


def _fail(kind: str, name: str, reason: str, hint: str | None = None) -> InvalidNameError:
    from msgen.inputs import shorten

    if hint is not None:
        hint = shorten(hint)
    return InvalidNameError(f"invalid {kind} name {shorten(repr(name))}: {reason}", hint=hint)


def _check_label(name: str, kind: str) -> None:
    """Apply the DNS-1123 label rules shared by service and system names."""
    if not name:
        raise _fail(kind, name, "it is empty")
    if "/" in name or "\\" in name or name.startswith(".") or name in {".", ".."}:
        raise _fail(
            kind, name, "a name is not a path", hint="use --output DIR to choose where it goes"
        )
    if len(name) > MAX_NAME_LENGTH:
        raise _fail(kind, name, f"it is {len(name)} characters long (at most {MAX_NAME_LENGTH})")
    if name != name.lower():
        raise _fail(kind, name, "use lowercase letters only", hint=f"try {name.lower()!r}")
    if not name[0].isalpha() or not name[0].isascii():
        raise _fail(kind, name, "it must start with a letter")
    if name.endswith("-"):
        raise _fail(kind, name, "it must not end with a hyphen")
    if "--" in name:
        raise _fail(kind, name, "it must not contain two hyphens in a row")
    if not _DNS_LABEL.match(name):
        raise _fail(
            kind,
            name,
            "use only lowercase letters, digits and hyphens (a DNS-1123 label)",
            hint=f"try {re.sub(r'[^a-z0-9-]+', '-', name.lower()).strip('-')!r}",
        )


def validate_system_name(name: str) -> str:
    """Return ``name`` if it is a valid system (workspace) name, else raise."""
    _check_label(name, "system")
    return name


def validate_service_name(name: str) -> str:
    """Return ``name`` if it is a valid service name, else raise :class:`InvalidNameError`."""
    _check_label(name, "service")
    package = name.replace("-", "_")
    if keyword.iskeyword(package) or keyword.issoftkeyword(package):
        raise _fail("service", name, f"{package!r} is a Python keyword")
    if package in sys.stdlib_module_names:
        raise _fail(
            "service",
            name,
            f"package {package!r} would shadow the standard library module of that name",
            hint=f"try {name + '-service'!r}",
        )
    if package in _THIRD_PARTY:
        raise _fail(
            "service", name, f"package {package!r} would shadow a library the service imports"
        )
    if package in _PROJECT_NAMES:
        raise _fail("service", name, f"{package!r} is a directory name the project itself uses")
    return name


def _words(text: str) -> list[str]:
    return [w.lower() for w in _CAMEL_SPLIT.split(text) if w]


def singularize(word: str) -> str:
    """Singular of a lowercase English noun, by the regular rules (orders -> order)."""
    for suffix, repl in (
        ("ies", "y"),
        ("sses", "ss"),
        ("xes", "x"),
        ("ches", "ch"),
        ("shes", "sh"),
        ("zes", "z"),
    ):
        if word.endswith(suffix) and len(word) > len(suffix):
            return word[: -len(suffix)] + repl
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 1:
        return word[:-1]
    return word


def pluralize(word: str) -> str:
    """Plural of a lowercase English noun, by the regular rules (category -> categories)."""
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


def validate_resource_name(name: str) -> list[str]:
    """Return the lowercase words of a resource name (``OrderItem`` -> order, item)."""
    if not _RESOURCE.match(name) or not name.isascii():
        raise _fail(
            "resource",
            name,
            "use letters and digits, optionally joined by '-' or '_', starting with a letter",
        )
    words = _words(name)
    snake = "_".join(words)
    if keyword.iskeyword(snake) or snake in _RESERVED_RESOURCES:
        raise _fail("resource", name, f"{snake!r} clashes with a name the generated code uses")
    if len(snake) > MAX_NAME_LENGTH:
        raise _fail("resource", name, f"it is longer than {MAX_NAME_LENGTH} characters")
    return words


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceNames:
    """Every name the templates need, derived from the service (and resource) name."""

    service: str  # orders, order-items (DNS label)
    package: str  # orders, order_items
    resource_class: str  # Order, OrderItem
    resource_snake: str  # order, order_item
    resource_plural_snake: str  # orders, order_items (table name)
    resource_path: str  # orders, order-items (URL path segment)

    def as_data(self) -> dict[str, str]:
        """The copier data keys for these names."""
        return {
            "service_name": self.service,
            "package_name": self.package,
            "resource_class": self.resource_class,
            "resource_snake": self.resource_snake,
            "resource_plural_snake": self.resource_plural_snake,
            "resource_path": self.resource_path,
        }


def derive_names(service: str, *, resource: str | None = None) -> ServiceNames:
    """Validate ``service`` (and ``resource``) and derive the names the templates use.

    Without ``resource`` the CRUD entity is the singular of the service name's last word:
    ``orders`` -> ``Order``, ``order-items`` -> ``OrderItem``, ``inventory`` -> ``Inventory``.
    """
    validate_service_name(service)
    if resource is None:
        words = service.split("-")
        words = [*words[:-1], singularize(words[-1])]
        words = [w for w in words if w] or ["item"]
        if "_".join(words) in _RESERVED_RESOURCES or not words[0][0].isalpha():
            words = ["item"]
    else:
        words = validate_resource_name(resource)
    singular = [*words[:-1], singularize(words[-1])]
    plural = [*singular[:-1], pluralize(singular[-1])]
    return ServiceNames(
        service=service,
        package=service.replace("-", "_"),
        resource_class="".join(w.capitalize() for w in singular),
        resource_snake="_".join(singular),
        resource_plural_snake="_".join(plural),
        resource_path="-".join(plural),
    )


def check_port(port: int, used: set[int]) -> int:
    """Return ``port`` if it is in 1024-65535 and not in ``used``, else raise."""
    if port not in PORT_RANGE:
        raise PortError(
            f"port {port} is outside {PORT_RANGE.start}-{PORT_RANGE.stop - 1}",
            hint="ports below 1024 need root; pick one from 1024 to 65535",
        )
    if port in used:
        raise PortError(f"port {port} is already used by another service in the workspace")
    return port


def next_free_port(used: set[int], *, start: int = FIRST_SERVICE_PORT) -> int:
    """The first port from ``start`` upward that no service in the workspace uses."""
    for port in range(start, PORT_RANGE.stop):
        if port not in used:
            return port
    raise PortError(f"no free port left from {start} to {PORT_RANGE.stop - 1}")
