"""Roles: a typed contract (inputs, output schema) that small models fill, vote on, and escalate."""

from smallagents.role._execute import (
    EscalationPolicy,
    FunctionRole,
    Role,
    RoleSpec,
    Unsure,
    VotingPolicy,
    configured_spec,
    default_seed,
    lowest_confidence,
    make_spec,
    role,
)

__all__ = [
    "EscalationPolicy",
    "FunctionRole",
    "Role",
    "RoleSpec",
    "Unsure",
    "VotingPolicy",
    "configured_spec",
    "default_seed",
    "lowest_confidence",
    "make_spec",
    "role",
]
