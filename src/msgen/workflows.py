"""Consumed events that run lifecycle commands: the ``workflows`` answer of the template.

``msgen.yaml`` maps a consumed event to a command of one of the service's entities::

    consumes:
      payments.payment_captured: {command: Order.pay, id: order_id}
      orders.order_created: {command: Payment.create_for_order, fields: {order_id: id}}

:func:`template_workflows` turns that mapping (validated when ``msgen.yaml`` is loaded, see
:func:`msgen.workspace._check_action`) into plain data for the service template, which
renders ``workflows.py``: one function per consumed event, run by the consumer in the
transaction that records the message id. :func:`consumes_answers` gives every answer the
template derives from ``consumes:``, so ``msgen update`` can tell when they changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from msgen.workspace import ServiceEntry, WorkspaceFile

__all__ = ["consumes_answers", "template_workflows"]


def template_workflows(entry: ServiceEntry) -> list[dict[str, Any]]:
    """The ``workflows`` answer: one mapping per consumed event that runs a command."""
    from msgen.domain.view import entity_names

    actions = entry.consume_actions()
    if not actions:
        return []
    domain = entry.domain()
    result: list[dict[str, Any]] = []
    for event, action in actions.items():
        entity = domain.entity(action.entity)
        command = entity.command(action.command_name) if entity is not None else None
        if entity is None or command is None:  # refused when msgen.yaml is loaded
            continue
        names = entity_names(entity.name)
        fields = [
            {"column": field.column, "source": action.fields.get(field.name, field.column)}
            for field in entity.fields
            if field.name not in entity.commanded
        ]
        result.append(
            {
                "event": event,
                "entity": entity.name,
                "spec": names["snake"].upper(),
                "command": action.command_name,
                "creates": command.creates,
                "id": action.id,
                "fields": fields if command.creates else [],
            }
        )
    return result


def consumes_answers(workspace: WorkspaceFile, name: str) -> dict[str, Any]:
    """The answers the template takes from ``consumes:``: the events, models and workflows."""
    entry = workspace.model.services[name]
    events = entry.consumed_events
    consumed: dict[str, dict[str, Any]] = {}
    if events:  # (the contract reader is imported only for a service that consumes)
        from msgen.consumed import consumed_models

        consumed = consumed_models(workspace, events)
    return {
        "consumes": events,
        "consumed": consumed,
        "workflows": template_workflows(entry),
    }
