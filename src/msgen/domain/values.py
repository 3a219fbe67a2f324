"""Default values and bounds: from YAML or short-form text to the field's Python type, and back.

decimal -> ``Decimal``, int/bigint -> ``int``, float -> ``float``, bool -> ``bool``, enum ->
the member (``str``), uuid -> its canonical string, date/datetime -> ISO strings, json -> any
JSON value, ``null`` -> ``None``. Numbers must fit their column (INTEGER, BIGINT,
NUMERIC(18,4)) and be finite.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from msgen.domain.model import Kind
from msgen.errors import DomainError

__all__ = [
    "DECIMAL_PLACES",
    "DECIMAL_PRECISION",
    "INT_RANGES",
    "convert_bound",
    "convert_default",
    "default_text",
]

DECIMAL_PRECISION = 18
DECIMAL_PLACES = 4
"""decimal is NUMERIC(18,4): 14 digits before the point, 4 after."""
INT_RANGES = {"int": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}

_INT = re.compile(r"^[+-]?[0-9]+$")
_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
NUMERIC_KINDS = ("int", "bigint", "float", "decimal")
_STRING_KINDS = ("str", "text", "enum", "uuid", "date", "datetime")


def _int(kind: Kind, value: Any) -> int:
    if isinstance(value, str) and _INT.match(value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError(f"{value!r} is not a whole number")
    low, high = INT_RANGES[kind]
    if not low <= value <= high:
        raise DomainError(f"{value} does not fit {kind} ({low} to {high})")
    return value


def _float(value: Any) -> float:
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DomainError(f"{value!r} is not a number")
    if not math.isfinite(value):
        raise DomainError("must be a finite number")
    return float(value)


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise DomainError(f"{value!r} is not a number")
    if isinstance(value, int | float):
        value = str(value)
    if isinstance(value, str):
        if not _NUMBER.match(value.strip()):
            raise DomainError(f"{value!r} is not a number")
        try:
            value = Decimal(value.strip())
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            raise DomainError(f"{value!r} is not a number") from None
    if not isinstance(value, Decimal) or not value.is_finite():
        raise DomainError(f"{value!r} is not a finite number")
    if abs(value) >= Decimal(10) ** (DECIMAL_PRECISION - DECIMAL_PLACES):
        raise DomainError(
            f"{value} does not fit NUMERIC({DECIMAL_PRECISION},{DECIMAL_PLACES}) "
            f"(at most {DECIMAL_PRECISION - DECIMAL_PLACES} digits before the point)"
        )
    if value != value.quantize(Decimal(1).scaleb(-DECIMAL_PLACES)):
        raise DomainError(f"{value} has more than {DECIMAL_PLACES} decimal places")
    return value


def convert_bound(kind: Kind, value: Any) -> int | float | Decimal:
    """A ``min``/``max`` value for a numeric field, as the field's Python type."""
    if kind not in NUMERIC_KINDS:
        raise DomainError(
            f"min and max apply to numbers only (int, bigint, float, decimal), not {kind}"
        )
    return _number(kind, value)


def _number(kind: Kind, value: Any) -> int | float | Decimal:
    if kind == "decimal":
        return _decimal(value)
    if kind == "float":
        return _float(value)
    return _int(kind, value)


def _unquote(text: str) -> str:
    """A short-form string default: ``"..."`` (JSON escapes) or ``'...'`` or as written."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            value = json.loads(text)
        except ValueError:
            raise DomainError(f"cannot read the quoted default {text}") from None
        if not isinstance(value, str):  # pragma: no cover - a JSON "..." is a string
            raise DomainError(f"cannot read the quoted default {text}")
        return value
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    return text


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise DomainError("a JSON number must be finite")
        return value
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise DomainError("JSON object keys are strings")
        return {key: _json_value(item) for key, item in value.items()}
    raise DomainError(f"{value!r} is not a JSON value")


def _string(kind: Kind, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str):
        raise DomainError(f"{value!r} is not a string (quote it)")
    if kind == "enum" and value not in choices:
        raise DomainError(f"{value!r} is not one of {', '.join(choices)}")
    return value


def _no_default(kind: Kind, value: Any, choices: tuple[str, ...]) -> Any:
    raise DomainError("a ref has no default (only null, when it is optional)")


def convert_default(kind: Kind, value: Any, *, text: bool, choices: tuple[str, ...] = ()) -> Any:
    """A default as the field's Python type; ``text`` when it comes from the short form.

    ``None`` (``null``) is returned as is; whether the field may be null is
    :func:`~msgen.domain.validate.check_field`'s to say.
    """
    if text and kind == "json":
        try:
            value = json.loads(value)
        except ValueError:
            raise DomainError(f"{value!r} is not JSON (write e.g. {{}} or [])") from None
    elif text and value == "null":
        value = None
    elif text and kind in _STRING_KINDS:
        value = _unquote(value)
    if value is None:
        return None
    return _CONVERTERS[kind](kind, value, choices)


def _bool(kind: Kind, value: Any, choices: tuple[str, ...]) -> bool:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise DomainError(f"{value!r} is not true or false")
    return value


def _uuid(kind: Kind, value: Any, choices: tuple[str, ...]) -> str:
    import uuid

    try:
        return str(uuid.UUID(str(value).strip()))
    except ValueError:
        raise DomainError(f"{value!r} is not a UUID") from None


def _temporal(kind: Kind, value: Any, choices: tuple[str, ...]) -> str:
    if kind == "date":
        if isinstance(value, datetime) or (not isinstance(value, date | str)):
            raise DomainError(f"{value!r} is not a date (YYYY-MM-DD)")
        try:
            parsed = value if isinstance(value, date) else date.fromisoformat(value.strip())
        except ValueError:
            raise DomainError(f"{value!r} is not a date (YYYY-MM-DD)") from None
        return parsed.isoformat()
    if not isinstance(value, datetime | str):
        raise DomainError(f"{value!r} is not a date and time (ISO 8601)")
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(value.strip())
    except ValueError:
        raise DomainError(f"{value!r} is not a date and time (ISO 8601)") from None
    return moment.isoformat()


_CONVERTERS: dict[str, Callable[[Kind, Any, tuple[str, ...]], Any]] = {
    "str": _string,
    "text": _string,
    "enum": _string,
    "int": lambda kind, value, _: _number(kind, value),
    "bigint": lambda kind, value, _: _number(kind, value),
    "float": lambda kind, value, _: _number(kind, value),
    "decimal": lambda kind, value, _: _number(kind, value),
    "bool": _bool,
    "uuid": _uuid,
    "date": _temporal,
    "datetime": _temporal,
    "json": lambda kind, value, _: _json_value(value),
    "ref": _no_default,
}


def _safe_plain(value: str) -> bool:
    return (
        bool(value)
        and value == value.strip()
        and value != "null"
        and value[0] not in "\"'"
        and value.isprintable()
    )


def default_text(kind: Kind, value: Any) -> str:
    """A default as the short form writes it after ``=`` (inverse of :func:`convert_default`)."""
    if kind == "json":
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return value if _safe_plain(value) else json.dumps(value, ensure_ascii=False)
    return str(value)
