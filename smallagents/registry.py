"""Finding roles and graphs: built-in ones in ``roles/`` and ``graphs/``, a user's anywhere.

A source is a module name (``mypackage.roles``), a ``.py`` file, a package folder
(one with ``__init__.py``), or a folder of them. Files and packages are loaded by
path under a private module name, the same way for our bundled content as for a
user's: the runtime never imports ``roles`` or ``graphs`` as packages. Every
public object of the wanted type in a source is registered under its ``name``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from smallagents.content import ContentKind, content_dir
from smallagents.errors import ContentError, SmallAgentsError
from smallagents.graph import Graph
from smallagents.jobs.pipelines import Pipeline, PipelineFactory, is_pipeline_factory
from smallagents.role import Role

T = TypeVar("T")

_loaded: dict[Path, ModuleType] = {}


def load_module(source: str | Path) -> list[ModuleType]:
    """Load a module name, a ``.py`` file, a package folder, or every one in a folder.

    A folder with ``__init__.py`` is one package; in any other folder each ``.py``
    file and each package folder whose name does not start with ``_`` is loaded.

    Raises:
        ContentError: the source does not exist, or loading it failed.
    """
    path = Path(source)
    if path.is_dir():
        if (path / "__init__.py").is_file():
            return [_load_file(path)]
        found = [
            item
            for item in path.iterdir()
            if not item.name.startswith("_")
            and (item.suffix == ".py" or (item / "__init__.py").is_file())
        ]
        return [_load_file(item) for item in sorted(found)]
    if path.suffix == ".py":
        if not path.is_file():
            raise ContentError(f"File {path} does not exist.", fix="check the path.")
        return [_load_file(path)]
    if isinstance(source, str) and source.replace(".", "").replace("_", "").isalnum():
        try:
            return [importlib.import_module(source)]
        except ImportError as error:
            raise ContentError(
                f"Cannot import module {source!r}: {error}.",
                fix="pass an importable module name, a .py file or a folder.",
            ) from None
    raise ContentError(
        f"{source!r} is neither a folder, a .py file nor a module name.",
        fix="pass an importable module name, a .py file or a folder.",
    )


def _load_file(path: Path) -> ModuleType:
    """A ``.py`` file, or a package folder (its modules may import each other relatively)."""
    path = path.resolve()
    if path in _loaded:
        return _loaded[path]
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    module_name = f"smallagents_content_{path.stem}_{digest}"
    if path.is_dir():
        spec = importlib.util.spec_from_file_location(
            module_name, path / "__init__.py", submodule_search_locations=[str(path)]
        )
    else:
        spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ContentError(f"Cannot load {path}.", fix="pass a Python source file.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # pydantic and dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    except SmallAgentsError:
        del sys.modules[module_name]
        raise
    except Exception as error:
        del sys.modules[module_name]
        raise ContentError(
            f"Loading {path} failed: {type(error).__name__}: {error}.",
            fix="run the file with python to see the full traceback.",
        ) from None
    _loaded[path] = module
    return module


def collect(modules: Iterable[ModuleType], kind: type[T]) -> dict[str, T]:
    """Every public object of type ``kind`` in ``modules``, by its ``name``.

    A pipeline factory counts as its ``graph`` (the default one, uncompiled) when
    graphs are collected, so ``smallagents graphs`` lists what a factory builds.
    """
    found: dict[str, T] = {}
    for module in modules:
        for attribute, value in vars(module).items():
            if attribute.startswith("_"):
                continue
            if kind is Graph and is_pipeline_factory(value):
                value = getattr(value, "graph", None)
            if isinstance(value, type) and issubclass(value, kind) and hasattr(value, "spec"):
                value = value()  # a Role subclass: its default instance
            if isinstance(value, kind):
                name = getattr(value, "name", attribute)
                found.setdefault(name, value)
    return found


def load_roles(*sources: str | Path) -> dict[str, Role]:
    """Roles from module names, files or folders (later sources win on a name clash)."""
    roles: dict[str, Role] = {}
    for source in sources:
        roles.update(collect(load_module(source), Role))
    return roles


def builtin(kind: ContentKind, type_: type[T]) -> dict[str, T]:
    """The bundled objects of one kind (``roles`` or ``graphs``)."""
    return collect(load_module(content_dir(kind)), type_)


def builtin_roles() -> dict[str, Role]:
    """The roles in the bundled ``roles/`` folder."""
    return builtin("roles", Role)


def find_role(name: str, *sources: str | Path) -> Role:
    """A role by name, from ``sources`` first, then the built-in ones.

    Raises:
        ContentError: no role has that name.
    """
    roles = {**builtin_roles(), **load_roles(*sources)}
    if name not in roles:
        raise ContentError(
            f"No role named {name!r}; known roles: {', '.join(sorted(roles)) or 'none'}.",
            fix="check the name, or pass --roles with the module, file or folder that defines it.",
        )
    return roles[name]


def load_graphs(*sources: str | Path) -> dict[str, Graph]:
    """Graphs from module names, files or folders (later sources win on a name clash)."""
    graphs: dict[str, Graph] = {}
    for source in sources:
        graphs.update(collect(load_module(source), Graph))
    return graphs


def builtin_graphs() -> dict[str, Graph]:
    """The graphs in the bundled ``graphs/`` folder."""
    return builtin("graphs", Graph)


def find_graph(name: str, *sources: str | Path) -> Graph:
    """A graph by name, from ``sources`` first, then the built-in ones.

    Raises:
        ContentError: no graph has that name.
    """
    graphs = {**builtin_graphs(), **load_graphs(*sources)}
    if name not in graphs:
        raise ContentError(
            f"No graph named {name!r}; known graphs: {', '.join(sorted(graphs)) or 'none'}.",
            fix="check the name, or pass --graphs with the module, file or folder that defines it.",
        )
    return graphs[name]


def is_pipeline(value: Any) -> bool:
    """Whether ``value`` is a job pipeline object: ``name``, ``required_fields``, ``run_unit``.

    Classes are not pipelines (their instances may be); roles and graphs are not
    either, since they have no ``run_unit`` (the job command wraps them itself).
    """
    return (
        not isinstance(value, type)
        and isinstance(getattr(value, "name", None), str)
        and callable(getattr(value, "required_fields", None))
        and callable(getattr(value, "run_unit", None))
    )


def collect_pipelines(modules: Iterable[ModuleType]) -> dict[str, Pipeline | PipelineFactory]:
    """Every public pipeline object (see `is_pipeline`) and pipeline factory (see
    `smallagents.jobs.pipelines.is_pipeline_factory`) in ``modules``, by its ``name``."""
    found: dict[str, Pipeline | PipelineFactory] = {}
    for module in modules:
        for attribute, value in vars(module).items():
            if attribute.startswith("_"):
                continue
            if is_pipeline(value) or is_pipeline_factory(value):
                found.setdefault(value.name, value)
    return found


def load_pipelines(*sources: str | Path) -> dict[str, Pipeline | PipelineFactory]:
    """Pipelines and factories from module names, files or folders (later sources win)."""
    pipelines: dict[str, Pipeline | PipelineFactory] = {}
    for source in sources:
        pipelines.update(collect_pipelines(load_module(source)))
    return pipelines


def builtin_pipelines() -> dict[str, Pipeline | PipelineFactory]:
    """The pipelines and factories that the bundled ``graphs/`` files expose."""
    return collect_pipelines(load_module(content_dir("graphs")))


def find_pipeline(
    name: str, *, roles: Iterable[str | Path] = (), graphs: Iterable[str | Path] = ()
) -> Pipeline | PipelineFactory | None:
    """An explicit pipeline (or factory) object by name, or ``None`` if no graphs source
    exposes one.

    A graph file exposes a pipeline as a module-level object with ``name``,
    ``required_fields()`` and ``run_unit()`` (e.g. the ``caller`` pipeline of
    ``graphs/tool_agent.py``), or a factory with ``name`` and ``build(file,
    command_line, *, where)`` that makes one per job. The given ``graphs`` sources
    win over the bundled ones. ``None`` lets the caller fall back to wrapping a
    graph or a role of that name; ``roles`` is accepted for that caller's signature
    and not searched here, since role files define roles, not pipelines.
    """
    del roles  # roles become pipelines in the job command (RolePipeline)
    pipelines = {**builtin_pipelines(), **load_pipelines(*graphs)}
    return pipelines.get(name)


def describe(value: Any) -> str:
    """A one-line description of a role or graph, for listings."""
    if isinstance(value, Graph):
        return value.description
    spec = getattr(value, "spec", None)
    return getattr(spec, "description", "") or (getattr(value, "__doc__", "") or "").strip()
