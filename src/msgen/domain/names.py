"""Names derived from an entity: its snake name, table, URL path and child path.

``OrderItem`` is ``order_item`` in Python, ``order_items`` in the database and
``order-items`` in URLs; listed under the ``Order`` it refers to, it is ``/orders/{id}/items``.
Acronyms stay whole (``HTTPLog`` -> ``http_log``). Pure functions; plurals follow
:func:`msgen.naming.pluralize`.
"""

from __future__ import annotations

import re

from msgen.naming import pluralize

__all__ = ["child_path", "entity_path", "entity_snake", "snake_case", "table_name"]

_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(name: str) -> str:
    """``OrderItem`` -> ``order_item``, ``HTTPLog`` -> ``http_log``, ``taxId`` -> ``tax_id``."""
    spaced = _WORD_BOUNDARY.sub("_", name.strip())
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")


def entity_snake(entity: str) -> str:
    """The entity's Python name: ``OrderItem`` -> ``order_item``."""
    return snake_case(entity)


def _plural_words(snake: str) -> list[str]:
    words = snake.split("_")
    return [*words[:-1], pluralize(words[-1])]


def table_name(entity: str) -> str:
    """The entity's table: ``OrderItem`` -> ``order_items`` (the last word in the plural)."""
    return "_".join(_plural_words(entity_snake(entity)))


def entity_path(entity: str) -> str:
    """The entity's collection path segment: ``OrderItem`` -> ``order-items``."""
    return "-".join(_plural_words(entity_snake(entity)))


def child_path(entity: str, parent: str) -> str:
    """The path of ``entity``'s collection under ``parent`` (which it refers to).

    The parent's words are dropped from the front when the child's name starts with them:
    ``OrderItem`` under ``Order`` -> ``items`` (``GET /orders/{id}/items``); otherwise the
    plain collection path: ``Payment`` under ``Order`` -> ``payments``.
    """
    child, prefix = entity_snake(entity), entity_snake(parent) + "_"
    if child.startswith(prefix) and len(child) > len(prefix):
        return "-".join(_plural_words(child.removeprefix(prefix)))
    return entity_path(entity)
