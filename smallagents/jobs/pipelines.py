"""What a job runs per work unit: a role or a graph behind one small interface.

A work unit is one input record and one sample index. Its result is a list of
output records (accepted) and a list of rejected ones (with a reason), plus the
role records that produced them, for the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from smallagents.errors import RoleInputError
from smallagents.role import Role
from smallagents.run import RoleRecord, Run


@dataclass
class UnitResult:
    """What one work unit produced."""

    outputs: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    records: list[RoleRecord] = field(default_factory=list)


class Pipeline(Protocol):
    """Anything a job can run: ``smallagents run NAME`` resolves NAME to one."""

    name: str

    def required_fields(self) -> tuple[str, ...]:
        """Input fields every record must have."""
        ...

    def run_unit(self, data: Mapping[str, Any], *, run: Run, seed: int, unit_id: str) -> UnitResult:
        """Process one input record (one sample of it)."""
        ...


def value_fields(value: Any) -> dict[str, Any]:
    """An answer as output fields: an object's fields, or ``{"output": value}``."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    return dict(value) if isinstance(value, Mapping) else {"output": value}


class RolePipeline:
    """Runs one role per record: its inputs are read from the record's fields."""

    def __init__(self, role: Role) -> None:
        self.role = role
        self.name = role.name

    def required_fields(self) -> tuple[str, ...]:
        return tuple(self.role.spec.inputs)

    def run_unit(self, data: Mapping[str, Any], *, run: Run, seed: int, unit_id: str) -> UnitResult:
        missing = [name for name in self.required_fields() if name not in data]
        if missing:
            raise RoleInputError(
                self.name,
                f"record lacks {', '.join(missing)}",
                fix=f"give every record the fields {', '.join(self.required_fields())}",
            )
        inputs = {name: data[name] for name in self.required_fields()}
        record = self.role.invoke(inputs, run=run, seed=seed)
        out: dict[str, Any] = {"id": unit_id, **value_fields(record.value)}
        out.update(
            {
                "status": record.status,
                "escalated": record.escalated,
                "seed_id": data.get("id"),
                "models": {self.name: record.model},
            }
        )
        result = UnitResult(records=[record])
        if record.resolved:
            result.outputs.append(out)
        else:
            out["reason"] = f"unresolved ({record.escalation_reason}): {record.detail}"
            result.rejects.append(out)
        return result
