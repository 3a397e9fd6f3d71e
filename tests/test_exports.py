"""The public API: what each public module exports, from where, and with which docs.

Every module of the package declares ``__all__``. For the public modules the
list is sorted, free of duplicates, importable, defined inside ``managedjob``
and documented. Legacy ``IBMQ*`` names are aliases: the very same object as a
plainly named export of the same module.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pkgutil
import re
import types
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

PACKAGE = "managedjob"
PUBLIC_MODULES = [
    "managedjob",
    "managedjob.exceptions",
    "managedjob.primitives",
    "managedjob.targets",
    "managedjob.testing",
]
LEGACY_PREFIX = "IBMQ"

# What code written for qiskit.providers.ibmq.managed imports, plus the new names.
EXPECTED_MAIN_EXPORTS = {
    "IBMQJobManager",
    "IBMQJobManagerError",
    "IBMQJobManagerInvalidStateError",
    "IBMQJobManagerJobNotFound",
    "IBMQJobManagerTimeoutError",
    "IBMQJobManagerUnknownJobSet",
    "IBMQManagedResultDataNotAvailable",
    "JobManager",
    "ManagedEstimator",
    "ManagedJob",
    "ManagedJobSet",
    "ManagedResults",
    "ManagedSampler",
    "RetryPolicy",
}


def _public_all(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    assert names is not None, f"{module_name} has no __all__"
    assert isinstance(names, list | tuple), f"{module_name}.__all__ is a {type(names).__name__}"
    return list(names)


def _package_modules() -> list[str]:
    """Every module of the package except ``__main__`` (importing it would run it)."""
    package = importlib.import_module(PACKAGE)
    found = [PACKAGE]
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{PACKAGE}."):
        if info.name.rsplit(".", 1)[-1] != "__main__":
            found.append(info.name)
    return sorted(found)


def _is_documentable(obj: Any) -> bool:
    """Whether ``obj`` carries its own docstring (classes, functions, modules)."""
    return inspect.isclass(obj) or inspect.isroutine(obj) or inspect.ismodule(obj)


def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def _own_docstring(obj: Any) -> str:
    """The docstring written for ``obj``, ignoring ones Python generates."""
    doc = obj.__doc__ if isinstance(obj.__doc__, str) else ""
    doc = doc.strip()
    if inspect.isclass(obj):
        # dataclasses and NamedTuples invent "Name(field, ...)" when undocumented.
        generated = dataclasses.is_dataclass(obj) or (
            issubclass(obj, tuple) and hasattr(obj, "_fields")
        )
        if generated and doc.startswith(f"{obj.__name__}("):
            return ""
    return doc


@cache
def _documented_assignments() -> frozenset[str]:
    """Top-level names given a ``#:`` comment or a docstring after their assignment."""
    documented: set[str] = set()
    for module_name in _package_modules():
        module = importlib.import_module(module_name)
        source_file = getattr(module, "__file__", None)
        if source_file is None:
            continue
        source = Path(source_file).read_text(encoding="utf-8")
        lines = source.splitlines()
        body = ast.parse(source).body
        for index, node in enumerate(body):
            if isinstance(node, ast.Assign):
                targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                targets = [node.target.id]
            else:
                continue
            previous_line = lines[node.lineno - 2].strip() if node.lineno >= 2 else ""
            following = body[index + 1] if index + 1 < len(body) else None
            docstring_after = (
                isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            )
            if previous_line.startswith("#:") or docstring_after:
                documented.update(targets)
    return frozenset(documented)


@pytest.mark.parametrize("module_name", _package_modules())
def test_every_module_declares_all(module_name: str) -> None:
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    assert names is not None, f"{module_name} has no __all__"
    missing = [name for name in names if not hasattr(module, name)]
    assert not missing, f"{module_name}.__all__ lists names it does not define: {missing}"


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_all_is_sorted_without_duplicates(module_name: str) -> None:
    names = _public_all(module_name)
    duplicates = sorted({name for name in names if names.count(name) > 1})
    assert not duplicates, f"{module_name}.__all__ repeats {duplicates}"
    assert names == sorted(names), f"{module_name}.__all__ is not sorted"


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_star_import_gives_exactly_all(module_name: str) -> None:
    names = _public_all(module_name)
    namespace: dict[str, Any] = {}
    exec(f"from {module_name} import *", namespace)
    namespace.pop("__builtins__", None)
    assert sorted(namespace) == sorted(names)


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_exports_are_defined_in_the_package(module_name: str) -> None:
    module = importlib.import_module(module_name)
    foreign = []
    for name in _public_all(module_name):
        obj = getattr(module, name)
        if inspect.ismodule(obj):
            home = obj.__name__
        elif inspect.isclass(obj) or inspect.isroutine(obj):
            home = obj.__module__
        else:
            continue  # plain values carry no module; their docs are checked below
        if home != PACKAGE and not home.startswith(f"{PACKAGE}."):
            foreign.append(f"{name} (from {home})")
    assert not foreign, f"{module_name} re-exports objects defined elsewhere: {foreign}"


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_exports_keep_their_own_name(module_name: str) -> None:
    """A class or function is exported under its ``__name__``, unless it is a legacy alias."""
    module = importlib.import_module(module_name)
    renamed = []
    for name in _public_all(module_name):
        obj = getattr(module, name)
        if name.startswith(LEGACY_PREFIX) or not (inspect.isclass(obj) or inspect.isroutine(obj)):
            continue
        if obj.__name__ != name:
            renamed.append(f"{name} is {obj.__name__}")
    assert not renamed, f"{module_name} exports objects under other names: {renamed}"


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_legacy_names_alias_a_plain_export(module_name: str) -> None:
    module = importlib.import_module(module_name)
    names = _public_all(module_name)
    plain = {
        id(getattr(module, name)): name for name in names if not name.startswith(LEGACY_PREFIX)
    }
    orphans = [
        name
        for name in names
        if name.startswith(LEGACY_PREFIX) and id(getattr(module, name)) not in plain
    ]
    assert not orphans, (
        f"{module_name} exports legacy names with no plainly named export of the same "
        f"object: {orphans}"
    )


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_exports_are_documented(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert _own_docstring(module), f"{module_name} has no module docstring"
    undocumented = []
    for name in _public_all(module_name):
        obj = getattr(module, name)
        if _is_documentable(obj):
            if not _own_docstring(obj):
                undocumented.append(name)
        elif _is_dunder(name):
            continue  # __version__ and the like document themselves
        elif name not in _documented_assignments():
            undocumented.append(f"{name} (a value: give it a '#:' comment or docstring)")
    assert not undocumented, f"{module_name} exports undocumented names: {undocumented}"


def test_a_name_exported_twice_is_one_object() -> None:
    """The same public name never means two different things in two public modules."""
    seen: dict[str, tuple[str, object]] = {}
    clashes = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in _public_all(module_name):
            obj = getattr(module, name)
            if name in seen and seen[name][1] is not obj:
                clashes.append(f"{name} in {seen[name][0]} and {module_name}")
            seen.setdefault(name, (module_name, obj))
    assert not clashes, f"different objects share a public name: {clashes}"


def test_main_package_exports_the_legacy_api() -> None:
    missing = sorted(EXPECTED_MAIN_EXPORTS - set(_public_all(PACKAGE)))
    assert not missing, f"managedjob does not export {missing}"


def test_version_matches_the_installed_distribution() -> None:
    import managedjob

    assert managedjob.__version__ == metadata.version("managedjob")


def test_manager_alias_is_the_manager() -> None:
    import managedjob

    assert managedjob.IBMQJobManager is managedjob.JobManager


def test_exceptions_exported_by_the_package_are_those_of_the_exceptions_module() -> None:
    import managedjob
    from managedjob import exceptions

    for name in set(_public_all(PACKAGE)) & set(exceptions.__all__):
        assert getattr(managedjob, name) is getattr(exceptions, name), name


def test_legacy_exception_names_alias_their_plain_classes() -> None:
    from managedjob import exceptions

    for name in exceptions.__all__:
        obj = getattr(exceptions, name)
        if name.startswith(LEGACY_PREFIX):
            assert isinstance(obj, type)
            assert issubclass(obj, exceptions.JobManagerError), name
            assert not obj.__name__.startswith(LEGACY_PREFIX), name


def test_exports_are_not_private_modules() -> None:
    """Private modules (``_x``) never appear in a public ``__all__``."""
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in _public_all(module_name):
            obj = getattr(module, name)
            if isinstance(obj, types.ModuleType):
                assert not obj.__name__.rsplit(".", 1)[-1].startswith("_"), (
                    f"{module_name}.__all__ exposes private module {obj.__name__}"
                )


def _automodule_option(rst: str, module_name: str, option: str) -> set[str]:
    """The comma-separated values of one option of ``.. automodule:: module_name``."""
    block = re.search(
        rf"^\.\. automodule:: {re.escape(module_name)}\n((?:[ \t]+.*\n|\n)*)", rst, re.MULTILINE
    )
    assert block is not None, f"api.rst has no automodule for {module_name}"
    value = re.search(rf"^([ \t]+):{option}:(.*(?:\n\1[ \t]+.*)*)", block.group(1), re.MULTILINE)
    if value is None:
        return set()
    return {name.strip() for name in value.group(2).split(",") if name.strip()}


def test_api_reference_documents_each_exception_once() -> None:
    """The ``managedjob`` section leaves out exactly the re-exported exceptions.

    They are documented under ``managedjob.exceptions``; documenting them
    twice makes Sphinx's cross-references ambiguous, which fails the docs build.
    """
    from managedjob import exceptions

    rst = (Path(__file__).resolve().parent.parent / "docs" / "api.rst").read_text("utf-8")
    excluded = _automodule_option(rst, PACKAGE, "exclude-members")
    assert excluded == set(_public_all(PACKAGE)) & set(exceptions.__all__)
