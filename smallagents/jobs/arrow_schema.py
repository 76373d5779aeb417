"""One Arrow schema for a stream of JSON records, for every Parquet file a job writes.

Both the job's ``.parquet`` output (`smallagents.jobs.runner.write_parquet`)
and ``smallagents export`` (`smallagents.jobs.export`) use it, so the two
agree on every column's type.

A column's type is the one ``pyarrow.array`` would infer over all of its values,
found batch by batch: each batch's type is merged into the running one with
Arrow's permissive schema unification (null + struct -> struct, int + float ->
double, struct fields united), which gives the same type as inferring over all
values at once, while only one batch is in memory. A column whose values have no
common Arrow type (a number here, text there), or whose type holds an empty
object (Parquet cannot store a struct without fields), is written as JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

_AS_JSON = None
"""A column's running type once two of its values share no Arrow type."""


class SchemaInference:
    """The unified schema of records fed in any number of batches.

    Memory is one type per column: the records themselves are not kept.
    """

    def __init__(self) -> None:
        # Column name -> its type so far, or _AS_JSON; in first-seen order.
        self._types: dict[str, pa.DataType | None] = {}

    def add(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Take one batch of records into the schema."""
        batch = list(records)
        for name in dict.fromkeys(key for record in batch for key in record):
            if name in self._types and self._types[name] is _AS_JSON:
                continue
            kind = _values_type([record.get(name) for record in batch])
            if kind is None:
                self._types[name] = _AS_JSON
            elif name not in self._types:
                self._types[name] = kind
            else:
                self._types[name] = _merge(self._types[name], kind)

    def result(self) -> tuple[pa.Schema, tuple[str, ...]]:
        """The schema (columns in first-seen order) and the columns written as JSON text."""
        import pyarrow as pa

        fields = []
        as_json = []
        for name, kind in self._types.items():
            if kind is None or _has_empty_struct(kind):
                as_json.append(name)
                kind = pa.string()
            fields.append(pa.field(name, kind))
        return pa.schema(fields), tuple(as_json)


def unified_schema(records: Iterable[Mapping[str, Any]]) -> tuple[pa.Schema, tuple[str, ...]]:
    """One schema for all ``records`` at once and its JSON columns (see the module doc)."""
    inference = SchemaInference()
    inference.add(records)
    return inference.result()


def encode_json_columns(record: dict[str, Any], json_columns: tuple[str, ...]) -> dict[str, Any]:
    """``record`` with the values of ``json_columns`` as JSON text (nulls stay null)."""
    if not json_columns:
        return record
    return {
        key: json.dumps(value, ensure_ascii=False)
        if key in json_columns and value is not None
        else value
        for key, value in record.items()
    }


def _values_type(values: list[Any]) -> pa.DataType | None:
    """The Arrow type of every value, or None when they share none."""
    import pyarrow as pa

    try:
        return pa.array(values).type
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return None


def _merge(first: pa.DataType | None, second: pa.DataType) -> pa.DataType | None:
    """The type both batches' values fit, or None when there is none."""
    import pyarrow as pa

    if first is None:
        return None
    try:
        merged = pa.unify_schemas(
            [pa.schema([("c", first)]), pa.schema([("c", second)])], promote_options="permissive"
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    return merged.field("c").type


def _has_empty_struct(kind: pa.DataType) -> bool:
    import pyarrow as pa

    if pa.types.is_struct(kind):
        return kind.num_fields == 0 or any(
            _has_empty_struct(kind.field(i).type) for i in range(kind.num_fields)
        )
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _has_empty_struct(kind.value_type)
    return False
