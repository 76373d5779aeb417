"""The ``caller`` job pipeline: a Caller role's calls for each record's query; nothing is run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from smallagents.errors import RoleInputError, ToolArgumentError, UsageError
from smallagents.jobs.pipelines import UnitResult
from smallagents.role import Role
from smallagents.run import Run
from smallagents.tools import caller_inputs, calls_of


class CallerPipeline:
    """A job pipeline that runs a Caller role per record; nothing is executed.

    Each input record is ``{"id"?, "query": str, "tools": [spec, ...]}`` or a line
    of a BFCL category file, ``{"id", "question": [[messages]], "function": [spec,
    ...]}``; each output record ``{"id", "query", "calls": [{"name", "arguments"}],
    "status", "escalated", "seed_id", "models"}`` (``calls`` may hold several calls,
    or none when no tool fits). The role must take ``query`` and ``tools`` (and
    ``history``, given empty, if it has it) and answer ``{"calls": [...]}``. A record
    whose tools are not valid specs (or none), or whose query is not a request, is
    rejected with the reason, not stopped on: it is the record's fault, not the job's.
    """

    def __init__(self, role: Role, *, name: str = "caller") -> None:
        """Check that ``role`` can be a caller.

        Args:
            role: the Caller role.
            name: the pipeline's name (``smallagents run NAME``).

        Raises:
            UsageError: the role has no ``query`` or no ``tools`` input.
        """
        missing = [key for key in ("query", "tools") if key not in role.spec.inputs]
        if missing:
            raise UsageError(
                f"Role {role.name!r} cannot be a caller pipeline: no input(s) "
                f"{', '.join(missing)}.",
                fix="use a role with inputs query and tools.",
            )
        self.role = role
        self.name = name

    def required_fields(self) -> tuple[str, ...]:
        """None up front: a record has query and tools, or BFCL's question and function."""
        return ()

    def run_unit(self, data: Mapping[str, Any], *, run: Run, seed: int, unit_id: str) -> UnitResult:
        """Ask the Caller for the calls that answer one record's query."""
        head: dict[str, Any] = {"id": unit_id, "query": data.get("query", data.get("question"))}
        provenance = {"seed_id": data.get("id")}

        def reject(reason: str) -> UnitResult:
            return UnitResult(rejects=[{**head, **provenance, "reason": reason}])

        try:
            query, given = caller_inputs(data)
        except UsageError as error:
            return reject(f"bad tools: {error}")
        except ValueError as error:
            return reject(f"bad record: {error}")
        tools = {item.name: item for item in given}
        inputs: dict[str, Any] = {"query": query, "tools": [t.to_openai() for t in given]}
        if "history" in self.role.spec.inputs:
            inputs["history"] = ""
        try:
            record = self.role.invoke(inputs, run=run, seed=seed)
        except RoleInputError as error:  # e.g. a query that is not a string
            return reject(error.message)
        except UsageError as error:  # tools that together cannot be one grammar
            return reject(f"bad tools: {error}")
        calls = calls_of(record.value)
        out = {
            **head,
            "calls": calls,
            "status": record.status,
            "escalated": record.escalated,
            **provenance,
            "models": {self.role.name: record.model},
        }
        notes = [note for item in given for note in item.notes]
        if notes:
            out["spec_notes"] = notes
        result = UnitResult(records=[record])
        if not record.resolved:
            out["reason"] = f"unresolved ({record.escalation_reason}): {record.detail}"
            result.rejects.append(out)
            return result
        try:  # the grammar and the schema already saw to this; a second look costs nothing
            for call in calls:
                tools[call["name"]].validate(call["arguments"])
        except (KeyError, ToolArgumentError) as error:
            out["reason"] = f"invalid call: {error}"
            result.rejects.append(out)
            return result
        result.outputs.append(out)
        return result
