"""Names a domain may not use, with the reason each list exists.

The SQL lists are the reserved words of the SQL:2016 standard (its ``<reserved word>``
production), PostgreSQL's reserved keywords (``pg_get_keywords()`` categories R and T, as of
PostgreSQL 15) and every keyword SQLite knows (``sqlite3_keyword_name``, SQLite 3.40). The
generated code quotes identifiers, but a column named ``order`` or ``group`` still trips
every hand-written query, report and tool that does not: msgen refuses them up front.
"""

from __future__ import annotations

import keyword

__all__ = [
    "INFRASTRUCTURE_CLASSES",
    "INFRASTRUCTURE_TABLES",
    "LIST_QUERY_PARAMETERS",
    "MODEL_ATTRIBUTES",
    "PYTHON_KEYWORDS",
    "RESERVED_CLASS_NAMES",
    "RESERVED_COMMANDS",
    "SQL_RESERVED",
]

SQL_STANDARD = frozenset(
    """
    abs acos all allocate alter and any are array array_agg array_max_cardinality as
    asensitive asin asymmetric at atan atomic authorization avg begin begin_frame
    begin_partition between bigint binary blob boolean both by call called cardinality
    cascaded case cast ceil ceiling char char_length character character_length check
    classifier clob close coalesce collate collect column commit condition connect
    constraint contains convert copy corr corresponding cos cosh count covar_pop covar_samp
    create cross cube cume_dist current current_catalog current_date
    current_default_transform_group current_path current_role current_row current_schema
    current_time current_timestamp current_transform_group_for_type current_user cursor
    cycle date day deallocate dec decfloat decimal declare default define delete dense_rank
    deref describe deterministic disconnect distinct double drop dynamic each element else
    empty end end_frame end_partition equals escape every except exec execute exists exp
    external extract false fetch filter first_value float floor for foreign frame_row free
    from full function fusion get global grant group grouping groups having hold hour
    identity in indicator initial inner inout insensitive insert int integer intersect
    intersection interval into is join json_array json_arrayagg json_exists json_object
    json_objectagg json_query json_table json_table_primitive json_value lag language large
    last_value lateral lead leading left like like_regex listagg ln local localtime
    localtimestamp log log10 lower match match_number match_recognize matches max member
    merge method min minute mod modifies module month multiset national natural nchar nclob
    new no none normalize not nth_value ntile null nullif numeric occurrences_regex
    octet_length of offset old omit on one only open or order out outer over overlaps
    overlay parameter partition pattern per percent percent_rank percentile_cont
    percentile_disc period portion position position_regex power precedes precision prepare
    primary procedure ptf range rank reads real recursive ref references referencing
    regr_avgx regr_avgy regr_count regr_intercept regr_r2 regr_slope regr_sxx regr_sxy
    regr_syy release result return returns revoke right rollback rollup row row_number rows
    running savepoint scope scroll search second seek select sensitive session_user set show
    similar sin sinh skip smallint some specific specifictype sql sqlexception sqlstate
    sqlwarning sqrt start static stddev_pop stddev_samp submultiset subset substring
    substring_regex succeeds sum symmetric system system_time system_user table tablesample
    tan tanh then time timestamp timezone_hour timezone_minute to trailing translate
    translate_regex translation treat trigger trim trim_array true truncate uescape union
    unique unknown unnest update upper user using value value_of values var_pop var_samp
    varbinary varchar varying versioning when whenever where width_bucket window with within
    without year
    """.split()  # noqa: SIM905 (a word list reads best as text)
)
POSTGRESQL = frozenset(
    """
    all analyse analyze and any array as asc asymmetric authorization binary both case cast
    check collate collation column concurrently constraint create cross current_catalog
    current_date current_role current_schema current_time current_timestamp current_user
    default deferrable desc distinct do else end except false fetch for foreign freeze from
    full grant group having ilike in initially inner intersect into is isnull join lateral
    leading left like limit localtime localtimestamp natural not notnull null offset on only
    or order outer overlaps placing primary references returning right select session_user
    similar some symmetric table tablesample then to trailing true union unique user using
    variadic verbose when where window with
    """.split()  # noqa: SIM905 (a word list reads best as text)
)
SQLITE = frozenset(
    """
    abort action add after all alter always analyze and as asc attach autoincrement before
    begin between by cascade case cast check collate column commit conflict constraint
    create cross current current_date current_time current_timestamp database default
    deferrable deferred delete desc detach distinct do drop each else end escape except
    exclude exclusive exists explain fail filter first following for foreign from full
    generated glob group groups having if ignore immediate in index indexed initially inner
    insert instead intersect into is isnull join key last left like limit match materialized
    natural no not nothing notnull null nulls of offset on or order others outer over
    partition plan pragma preceding primary query raise range recursive references regexp
    reindex release rename replace restrict returning right rollback row rows savepoint
    select set table temp temporary then ties to transaction trigger unbounded union unique
    update using vacuum values view virtual when where window with without
    """.split()  # noqa: SIM905 (a word list reads best as text)
)
SQL_RESERVED = SQL_STANDARD | POSTGRESQL | SQLITE
"""Words reserved by the SQL standard, PostgreSQL or SQLite (lowercase)."""

PYTHON_KEYWORDS = frozenset(keyword.kwlist) | frozenset({"_", "case", "match", "type"})
"""Python keywords and soft keywords (spelled out: ``type`` is soft only from 3.12 on, and
the verdict must not depend on the Python running msgen)."""

MODEL_ATTRIBUTES = frozenset(
    {
        # pydantic.BaseModel (v1-style methods still defined, and warned about, in v2)
        "construct",
        "copy",
        "dict",
        "from_orm",
        "json",
        "parse_file",
        "parse_obj",
        "parse_raw",
        "schema",
        "schema_json",
        "update_forward_refs",
        "validate",
        # SQLAlchemy declarative classes
        "metadata",
        "registry",
        "query",
        "type_annotation_map",
    }
)
"""Attributes of pydantic models and SQLAlchemy declarative classes; ``model_*`` too."""

LIST_QUERY_PARAMETERS = frozenset({"limit", "offset", "sort", "cursor"})
"""Query parameters of the generated list route; filters are named after columns."""

INFRASTRUCTURE_CLASSES = frozenset(
    {
        "Base",
        "OutboxMessage",
        "Page",
        "ProcessedMessage",
        "ReceivedEvent",
        "Snapshot",
        "StoredEvent",
    }
)
"""Classes every generated service defines next to the entities."""

INFRASTRUCTURE_TABLES = frozenset(
    {"alembic_version", "events", "outbox", "processed_messages", "received_events", "snapshots"}
)
"""Tables every generated service (or Alembic) creates next to the entities' tables."""

RESERVED_CLASS_NAMES = frozenset(
    {
        # imported by the generated models and schemas (typing, pydantic, SQLAlchemy, enum)
        "Annotated",
        "Any",
        "BaseModel",
        "BigInteger",
        "Boolean",
        "CheckConstraint",
        "ClassVar",
        "ConfigDict",
        "Date",
        "DateTime",
        "Decimal",
        "DeclarativeBase",
        "Enum",
        "Field",
        "Float",
        "ForeignKey",
        "Index",
        "Integer",
        "JSON",
        "Literal",
        "Mapped",
        "MetaData",
        "Numeric",
        "Optional",
        "Session",
        "Settings",
        "StrEnum",
        "String",
        "Text",
        "UUID",
        "UniqueConstraint",
        "Uuid",
        # FastAPI names the routes import
        "APIRouter",
        "Depends",
        "HTTPException",
        "Query",
        "Request",
        "Response",
    }
)
"""Class names the generated modules import: an entity of that name would shadow them."""

RESERVED_COMMANDS = frozenset({"create", "delete", "get", "list", "read", "update"})
"""The CRUD operations every entity has; a command cannot take their names."""
