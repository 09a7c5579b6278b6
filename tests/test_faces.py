"""The package faces: each one built from its modules' ``__all__`` shows every name once,
and the object behind each name is the one its module defines.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import pytest

import deploycheck


def _packages() -> list[ModuleType]:
    names = [deploycheck.__name__]
    names += [m.name for m in pkgutil.walk_packages(deploycheck.__path__, "deploycheck.") if m.ispkg]
    return [importlib.import_module(name) for name in names]


def _built_from_modules(face: ModuleType) -> list[ModuleType]:
    """The sibling modules whose ``__all__`` together make up the face's ``__all__``."""
    modules = [
        value
        for name, value in vars(face).items()
        if name.startswith("_")
        and isinstance(value, ModuleType)
        and value.__name__.startswith(face.__name__ + ".")
        and hasattr(value, "__all__")
    ]
    total = [name for module in modules for name in module.__all__]
    return modules if modules and sorted(total) == sorted(face.__all__) else []


FACES = [face for face in _packages() if _built_from_modules(face)]


def test_faces_built_from_their_modules_are_found() -> None:
    """The faces of drift, verify, sot and the emulators are among those built from their modules."""
    names = {face.__name__ for face in FACES}
    assert {
        "deploycheck.drift",
        "deploycheck.verify",
        "deploycheck.sot",
        "deploycheck.report",
        "deploycheck.rollback.schema",
        "deploycheck.rollback.schema.ts",
        "deploycheck.sandbox.convex",
        "deploycheck.sandbox.github",
    } <= names


@pytest.mark.parametrize("face", FACES, ids=lambda face: face.__name__)
def test_face_names_are_unique_and_resolve_to_their_module(face: ModuleType) -> None:
    """No two modules of a face offer the same name (one would hide the other), and each
    name of the face is the very object of the module that lists it."""
    assert len(face.__all__) == len(set(face.__all__))
    for module in _built_from_modules(face):
        for name in module.__all__:
            assert getattr(face, name) is getattr(module, name), f"{face.__name__}.{name}"
