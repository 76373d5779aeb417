"""Structured output: schemas compiled once, grammar-constrained decoding, validation."""

from smallagents.structured.schema import CompiledSchema, RedFlag, SchemaLike, compile_schema

__all__ = ["CompiledSchema", "RedFlag", "SchemaLike", "compile_schema"]
