"""The field syntax: short, long and command-line forms, and writing a field back."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from msgen.domain.model import KINDS, NO_DEFAULT, Command, Field
from msgen.domain.syntax import field_spec, parse_cli_field, parse_entities, parse_field
from msgen.errors import DomainError, UsageError

# --- short form -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("uuid", Field(name="f", kind="uuid")),
        ("decimal", Field(name="f", kind="decimal")),
        ("text?", Field(name="f", kind="text", optional=True)),
        ("  text ? ", Field(name="f", kind="text", optional=True)),
        ("text? = null", Field(name="f", kind="text", optional=True, default=None)),
        ("str = hello", Field(name="f", kind="str", default="hello")),
        ("str = hello world", Field(name="f", kind="str", default="hello world")),
        ('str = "null"', Field(name="f", kind="str", default="null")),
        ("str = 'it''s'", Field(name="f", kind="str", default="it's")),
        ('str = ""', Field(name="f", kind="str", default="")),
        ("str = a=b", Field(name="f", kind="str", default="a=b")),
        ("int = 3", Field(name="f", kind="int", default=3)),
        ("int=-3", Field(name="f", kind="int", default=-3)),
        ("bigint = 9000000000", Field(name="f", kind="bigint", default=9_000_000_000)),
        ("float = 1.5", Field(name="f", kind="float", default=1.5)),
        ("decimal = 0.10", Field(name="f", kind="decimal", default=Decimal("0.10"))),
        ("bool = true", Field(name="f", kind="bool", default=True)),
        ("bool = False", Field(name="f", kind="bool", default=False)),
        ("date = 2024-02-29", Field(name="f", kind="date", default="2024-02-29")),
        (
            "datetime = 2024-01-01T10:00:00Z",
            Field(name="f", kind="datetime", default="2024-01-01T10:00:00+00:00"),
        ),
        (
            "uuid = 12345678-1234-5678-1234-567812345678",
            Field(name="f", kind="uuid", default="12345678-1234-5678-1234-567812345678"),
        ),
        ('json = {"a": [1, 2]}', Field(name="f", kind="json", default={"a": [1, 2]})),
        ("json? = null", Field(name="f", kind="json", optional=True, default=None)),
        (
            "enum(pending, paid, shipped, cancelled) = pending",
            Field(
                name="f",
                kind="enum",
                choices=("pending", "paid", "shipped", "cancelled"),
                default="pending",
            ),
        ),
        ("enum( a ,b, )", Field(name="f", kind="enum", choices=("a", "b"))),
        ("enum(a,b)?", Field(name="f", kind="enum", choices=("a", "b"), optional=True)),
        ("ref(Order)", Field(name="f", kind="ref", target="Order")),
        ("ref( Order )?", Field(name="f", kind="ref", target="Order", optional=True)),
    ],
)
def test_short_form_parses_to_typed_field(spec: str, expected: Field) -> None:
    assert parse_field("f", spec) == expected


def test_default_is_converted_to_the_python_type() -> None:
    assert type(parse_field("f", "decimal = 1").default) is Decimal
    assert type(parse_field("f", "int = 1").default) is int
    assert type(parse_field("f", "float = 1").default) is float
    assert parse_field("f", "text?").default is NO_DEFAULT


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("decimals", "unknown type 'decimals' (did you mean 'decimal'? types: str, text, int"),
        ("string", "unknown type 'string' (did you mean 'str'?"),
        ("Decimal", "unknown type 'Decimal' (did you mean 'decimal'?"),
        ("", "cannot read the type ''"),
        ("str(40)", "type 'str' takes no arguments"),
        ("enum()", "enum member '' must be letters"),
        ("enum", "an enum lists its members"),
        ("enum(a, a)", "enum member 'a' is listed twice"),
        ("enum(in-progress)", "enum member 'in-progress' must be letters"),
        ("enum(None, x)", "enum member 'None' is a Python keyword"),
        ("enum(a, b) = c", "'c' is not one of a, b"),
        ("ref", "a ref names its entity"),
        ("ref(A, B)", "ref takes one entity"),
        ("ref(Order) = 1", "a ref has no default"),
        ("str = null", "a required field cannot default to null"),
        ("str =", "nothing after '='"),
        ("int = 1.5", "'1.5' is not a whole number"),
        ("int = 3000000000", "3000000000 does not fit int"),
        ("float = nan", "'nan' is not a number"),
        ("decimal = 0.12345", "more than 4 decimal places"),
        ("decimal = 100000000000000", "does not fit NUMERIC(18,4)"),
        ("bool = yes", "'yes' is not true or false"),
        ("date = 2024-02-30", "'2024-02-30' is not a date"),
        ("datetime = tomorrow", "'tomorrow' is not a date and time"),
        ("uuid = 42", "'42' is not a UUID"),
        ("json = {a: 1}", "is not JSON"),
    ],
)
def test_short_form_errors_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(DomainError) as info:
        parse_field("f", spec)
    assert message in info.value.problem


def test_domain_error_is_a_usage_error_with_exit_code_2() -> None:
    with pytest.raises(UsageError) as info:
        parse_field("f", "nope")
    assert info.value.exit_code == 2
    assert info.value.code == "domain-invalid"


# --- long form --------------------------------------------------------------------------


def test_long_form_carries_constraints() -> None:
    field = parse_field(
        "total",
        {
            "type": "decimal",
            "optional": False,
            "min": 0,
            "max": "100.5",
            "unique": True,
            "index": True,
            "default": 1.25,
        },
    )
    assert field == Field(
        name="total",
        kind="decimal",
        min=Decimal(0),
        max=Decimal("100.5"),
        unique=True,
        index=True,
        default=Decimal("1.25"),
    )


def test_long_form_enum_and_ref_spellings_agree() -> None:
    by_type = parse_field("s", {"type": "enum(a, b)"})
    by_choices = parse_field("s", {"type": "enum", "choices": ["a", "b"]})
    both = parse_field("s", {"type": "enum(a, b)", "choices": ["a", "b"]})
    assert by_type == by_choices == both
    assert parse_field("o", {"type": "ref", "target": "Order"}) == parse_field(
        "o", {"type": "ref(Order)"}
    )


def test_long_form_question_mark_and_optional_key() -> None:
    assert parse_field("n", {"type": "text?"}).optional
    assert parse_field("n", {"type": "text", "optional": True}).optional
    with pytest.raises(DomainError, match="'\\?' in the type says optional"):
        parse_field("n", {"type": "text?", "optional": False})


def test_long_form_yaml_dates_become_iso_strings() -> None:
    from datetime import date, datetime

    assert parse_field("d", {"type": "date", "default": date(2024, 1, 2)}).default == "2024-01-02"
    moment = parse_field("d", {"type": "datetime", "default": datetime(2024, 1, 2, 3, 4)})
    assert moment.default == "2024-01-02T03:04:00"


@pytest.mark.parametrize(
    ("spec", "loc", "message"),
    [
        ({"type": "str", "maxlen": 3}, ("maxlen",), "unknown key (keys: type, optional"),
        ({"optional": True}, ("type",), "needs 'type:'"),
        ({"type": "strr"}, ("type",), "unknown type 'strr'"),
        ({"type": "str", "min": 1}, ("min",), "min and max apply to numbers only"),
        ({"type": "int", "min": 5, "max": 1}, (), "min (5) is greater than max (1)"),
        ({"type": "int", "min": 0, "default": -1}, (), "default -1 is below min 0"),
        ({"type": "float", "max": 1, "default": 1.5}, (), "default 1.5 is above max 1"),
        ({"type": "int", "max_length": 3}, (), "max_length applies to str and text"),
        ({"type": "str", "max_length": 0}, ("max_length",), "1 or more"),
        ({"type": "str", "max_length": 3, "default": "long"}, (), "4 characters long"),
        ({"type": "str", "default": "x" * 201}, (), "(max_length 200)"),
        ({"type": "str", "unique": "yes"}, ("unique",), "must be true or false"),
        ({"type": "json", "index": True}, (), "cannot be unique or indexed"),
        ({"type": "enum(a, b)", "choices": ["b"]}, ("choices",), "differs from the members"),
        ({"type": "str", "choices": ["b"]}, ("choices",), "only an enum has choices"),
        ({"type": "ref(A)", "target": "B"}, ("target",), "differs from the entity"),
        ({"type": "enum", "default": "a"}, (), "an enum lists its members"),
        ({"type": "int", "default": True}, ("default",), "True is not a whole number"),
        ({"type": "str", "default": 5}, ("default",), "5 is not a string"),
        ({"type": "json", "default": {"a": float("inf")}}, ("default",), "must be finite"),
    ],
)
def test_long_form_errors_name_the_key(spec: dict, loc: tuple, message: str) -> None:
    with pytest.raises(DomainError) as info:
        parse_field("f", spec)
    assert info.value.loc == loc
    assert message in info.value.problem


@pytest.mark.parametrize("spec", [None, 3, ["str"]])
def test_a_field_is_a_string_or_a_mapping(spec: object) -> None:
    with pytest.raises(DomainError, match="type"):
        parse_field("f", spec)


# --- command line -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("customer_id:uuid", Field(name="customer_id", kind="uuid")),
        ("note:text?", Field(name="note", kind="text", optional=True)),
        (
            "status:enum(pending,paid,shipped)=pending",
            Field(
                name="status",
                kind="enum",
                choices=("pending", "paid", "shipped"),
                default="pending",
            ),
        ),
        ("order:ref(Order)", Field(name="order", kind="ref", target="Order")),
        ("title:str=Hello: world", Field(name="title", kind="str", default="Hello: world")),
    ],
)
def test_cli_form_parses_like_rails(text: str, expected: Field) -> None:
    assert parse_cli_field(text) == expected


@pytest.mark.parametrize("text", ["total", ":decimal", "total:", "  :  "])
def test_cli_form_without_name_or_type_is_refused_with_a_hint(text: str) -> None:
    with pytest.raises(DomainError) as info:
        parse_cli_field(text)
    assert "cannot read the field" in info.value.message
    assert "NAME:TYPE" in (info.value.hint or "")


def test_cli_form_error_names_the_field() -> None:
    with pytest.raises(DomainError) as info:
        parse_cli_field("total:decimall")
    assert info.value.message.startswith("total: unknown type 'decimall'")


# --- writing back -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "written"),
    [
        ("text ?", "text?"),
        ("enum(a,b)=a", "enum(a, b) = a"),
        ("ref( Order )", "ref(Order)"),
        ('str = "null"', 'str = "null"'),
        ("str = ' padded '", 'str = " padded "'),
        ("decimal = 1.50", "decimal = 1.50"),
        ("datetime = 2024-01-01T00:00:00Z", "datetime = 2024-01-01T00:00:00+00:00"),
        ('json = {"a":1}', 'json = {"a": 1}'),
    ],
)
def test_field_spec_writes_the_canonical_short_form(spec: str, written: str) -> None:
    assert field_spec(parse_field("f", spec)) == written


def test_field_spec_writes_the_long_form_for_constraints() -> None:
    field = parse_field(
        "price", {"type": "decimal", "min": "0.5", "max": 100, "index": True, "default": 2}
    )
    assert field_spec(field) == {
        "type": "decimal",
        "default": 2,
        "min": "0.5",
        "max": 100,
        "index": True,
    }
    enum = parse_field("s", {"type": "enum", "choices": ["a", "b"], "unique": True})
    assert field_spec(enum) == {"type": "enum(a, b)", "unique": True}


_NAMES = st.from_regex(r"\A[a-z][a-z0-9_]{0,10}\Z")
_MEMBERS = st.lists(st.from_regex(r"\A[a-z][a-z0-9_]{0,8}\Z"), min_size=1, max_size=4, unique=True)
_DECIMALS = st.decimals(
    min_value=Decimal("-99999999999999.9999"),
    max_value=Decimal("99999999999999.9999"),
    places=4,
    allow_nan=False,
    allow_infinity=False,
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def fields(draw: st.DrawFn) -> Field:
    kind = draw(st.sampled_from(KINDS))
    optional = draw(st.booleans())
    extra: dict = {}
    default_values: st.SearchStrategy = st.nothing()
    if kind in ("str", "text"):
        extra["max_length"] = draw(st.none() | st.integers(20, 300))
        default_values = st.text(max_size=20)
    elif kind in ("int", "bigint"):
        limit = 2**31 - 1 if kind == "int" else 2**63 - 1
        default_values = st.integers(-limit, limit)
        low = draw(st.none() | st.integers(-limit, 0))
        extra["min"] = low
    elif kind == "float":
        default_values = st.floats(allow_nan=False, allow_infinity=False)
    elif kind == "decimal":
        default_values = _DECIMALS
        extra["max"] = draw(st.none() | st.just(Decimal("99999999999999.9999")))
    elif kind == "bool":
        default_values = st.booleans()
    elif kind == "uuid":
        default_values = st.uuids().map(str)
    elif kind == "date":
        default_values = st.dates().map(lambda d: d.isoformat())
    elif kind == "datetime":
        default_values = st.datetimes().map(lambda d: d.isoformat())
    elif kind == "json":
        # null is a default only of an optional field (check_field refuses it otherwise)
        default_values = _JSON if optional else _JSON.filter(lambda value: value is not None)
    elif kind == "enum":
        extra["choices"] = tuple(draw(_MEMBERS))
        default_values = st.sampled_from(extra["choices"])
    else:
        extra["target"] = draw(st.from_regex(r"\A[A-Z][a-z]{0,8}\Z"))
    default = draw(st.just(NO_DEFAULT) | default_values | (st.none() if optional else st.nothing()))
    if (
        kind in ("int", "bigint")
        and extra.get("min") is not None
        and default not in (None, NO_DEFAULT)
    ):
        extra["min"] = min(extra["min"], default)
    flags = {} if kind == "json" else {"unique": draw(st.booleans()), "index": draw(st.booleans())}
    return Field(
        name=draw(_NAMES),
        kind=kind,
        optional=optional,
        default=default,
        **{key: value for key, value in extra.items() if value is not None},
        **flags,
    )


@given(fields())
def test_field_spec_round_trips(field: Field) -> None:
    assert parse_field(field.name, field_spec(field)) == field


@given(fields())
def test_cli_form_round_trips_short_specs(field: Field) -> None:
    spec = field_spec(field)
    if isinstance(spec, str) and "\n" not in spec:
        assert parse_cli_field(f"{field.name}:{spec}") == field


# --- entities ---------------------------------------------------------------------------


def test_entities_parse_fields_and_commands_in_order() -> None:
    domain = parse_entities(
        {
            "Order": {
                "fields": {
                    "customer_id": "uuid",
                    "status": "enum(pending, paid, shipped, cancelled) = pending",
                },
                "commands": {
                    "pay": {"from": ["pending"], "to": "paid"},
                    "cancel": {"from": "pending", "to": "cancelled"},
                },
            },
            "OrderItem": {"fields": {"order": "ref(Order)", "sku": "str"}},
        }
    )
    assert [e.name for e in domain.entities] == ["Order", "OrderItem"]
    order = domain.entity("Order")
    assert order is not None
    assert [f.name for f in order.fields] == ["customer_id", "status"]
    assert order.commands == (
        Command(name="pay", field="status", sources=("pending",), to="paid"),
        Command(name="cancel", field="status", sources=("pending",), to="cancelled"),
    )


def test_empty_entities_is_an_empty_domain() -> None:
    assert parse_entities(None).entities == ()
    assert parse_entities({}).entities == ()


def _entities_error(data: object) -> DomainError:
    with pytest.raises(DomainError) as info:
        parse_entities(data)
    return info.value


def test_field_errors_carry_the_key_path() -> None:
    error = _entities_error({"Order": {"fields": {"total": "decimall"}}})
    assert error.loc == ("Order", "fields", "total")
    long = _entities_error({"Order": {"fields": {"total": {"type": "int", "min": "x"}}}})
    assert long.loc == ("Order", "fields", "total", "min")


@pytest.mark.parametrize(
    ("data", "loc", "message"),
    [
        (["Order"], (), "must be a mapping of entity names"),
        ({"Order": "uuid"}, ("Order",), "an entity is a mapping with 'fields:'"),
        ({"Order": {"fields": {"a": "int"}, "colour": 1}}, ("Order", "colour"), "unknown key"),
        ({"Order": {"fields": ["a"]}}, ("Order",), "must be a mapping of field names"),
    ],
)
def test_entity_shape_errors(data: object, loc: tuple, message: str) -> None:
    error = _entities_error(data)
    assert error.loc == loc
    assert message in error.problem


_STATES = {"status": "enum(pending, paid, cancelled) = pending"}


@pytest.mark.parametrize(
    ("fields", "command", "loc", "message"),
    [
        (_STATES, {"from": ["pending"], "to": "refunded"}, (), "refunded: not members of status"),
        (_STATES, {"from": [], "to": "paid"}, ("from",), "must list the states"),
        (_STATES, {"from": ["pending"]}, ("to",), "must name the state"),
        (_STATES, {"from": ["pending"], "to": "paid", "when": 1}, ("when",), "unknown key"),
        (_STATES, {"from": ["pending"], "to": "paid", "field": "x"}, ("field",), "not an enum"),
        ({"note": "text"}, {"from": ["a"], "to": "b"}, (), "Order has no enum field"),
        (
            {**_STATES, "payment": "enum(pending, paid)"},
            {"from": ["pending"], "to": "paid"},
            (),
            "several enum fields hold these states (status, payment); add field:",
        ),
        (_STATES, "paid", (), "a command is a mapping"),
    ],
)
def test_command_errors(fields: dict, command: object, loc: tuple, message: str) -> None:
    error = _entities_error({"Order": {"fields": fields, "commands": {"pay": command}}})
    assert error.loc == ("Order", "commands", "pay", *loc)
    assert message in error.problem


def test_command_with_explicit_field_among_several_enums() -> None:
    domain = parse_entities(
        {
            "Order": {
                "fields": {**_STATES, "payment": "enum(pending, paid) = pending"},
                "commands": {"pay": {"from": "pending", "to": "paid", "field": "payment"}},
            }
        }
    )
    order = domain.entity("Order")
    assert order is not None
    assert order.commands[0].field == "payment"


@pytest.mark.parametrize("default", ["a)b", "(x)", "enum(a) = b", "= =", "?"])
def test_string_defaults_may_hold_parentheses_and_equals(default: str) -> None:
    assert parse_field("f", f"str = {default}").default == default
