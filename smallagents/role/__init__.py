"""Roles: a typed contract (inputs, output schema) that small models fill, vote on, and escalate."""

from smallagents.role._doors import FunctionRole, Role, role
from smallagents.role._execute import Playable, configured_spec, default_seed, lowest_confidence
from smallagents.role._policies import EscalationPolicy, Unsure, VotingPolicy
from smallagents.role._spec import ExampleLike, RoleDefinition, RoleSpec, make_spec

__all__ = [
    "EscalationPolicy",
    "ExampleLike",
    "FunctionRole",
    "Playable",
    "Role",
    "RoleDefinition",
    "RoleSpec",
    "Unsure",
    "VotingPolicy",
    "configured_spec",
    "default_seed",
    "lowest_confidence",
    "make_spec",
    "role",
]
