"""Digests of unreadable validators: their source and everything it depends on, hashed.

The static parser compares a validator it cannot read (``unknown``) only by identity: the
whole source of the expression, the source of every binding it names (transitively), the
text of every local module it imports, and the version the lockfile pins for every package
it imports. If any of these cannot be pinned down (a name defined nowhere, a package no
lockfile names), there is no digest and the validator is never judged unchanged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from deploycheck.rollback.schema.ts import Arrow, Module, Node, ParseError, Token, tokenize

__all__ = ["DependencyDigest", "arrow_parameters", "package_name"]

# names that mean the same at every ref (ECMAScript globals and keywords)
JS_GLOBALS = frozenset({
    "Object", "Array", "Math", "JSON", "String", "Number", "Boolean", "BigInt", "Symbol", "Date", "RegExp",
    "Map", "Set", "Error", "undefined", "null", "true", "false", "NaN", "Infinity", "globalThis", "as",
    "const", "satisfies", "typeof", "keyof", "new", "function", "return", "in", "of", "instanceof", "void",
    "string", "number", "boolean", "any", "unknown", "never", "readonly",
})


def package_name(module_name: str) -> str:
    """The npm package of an import specifier: ``@convex-dev/auth/server`` -> ``@convex-dev/auth``."""
    parts = module_name.split("/")
    return "/".join(parts[:2]) if module_name.startswith("@") else parts[0]


def arrow_parameters(tokens: list[Token]) -> frozenset[str]:
    """Names declared as parameters of arrow functions in ``tokens`` (``k => ...``, ``(a, b: T) => ...``)."""
    names: set[str] = set()
    for index, token in enumerate(tokens):
        if token.text != "=>" or not index:
            continue
        previous = tokens[index - 1]
        if previous.kind == "ident":
            names.add(previous.text)
            continue
        depth = 0
        for back in range(index - 1, -1, -1):
            text = tokens[back].text
            if text == ")":
                depth += 1
            elif text == "(":
                depth -= 1
                if depth == 0:
                    break
            elif depth == 1 and tokens[back].kind == "ident" and tokens[back - 1].text in {"(", ","}:
                names.add(text)
    return frozenset(names)


class DependencyDigest:
    """Hashes an expression with its dependencies; see the module docstring.

    ``load_module(module, specifier)`` parses the local module a relative import names (or
    None); ``versions(package)`` is the lockfile's version of an npm package (or None).
    """

    def __init__(self, load_module: Callable[[Module, str], Module | None],
                 versions: Callable[[str], str | None] | None) -> None:
        self.load_module = load_module
        self.versions = versions
        self.scope: Mapping[str, Any] = {}
        self.module: Module | None = None

    def digest(self, module: Module, node: Node, scope: Mapping[str, Any]) -> str:
        """A hash of ``node``'s source and everything it refers to; "" when a package is unpinned."""
        self.scope = scope
        self.module = module
        parts: list[str] = []
        if not self._dependencies(module, node.start, node.end, parts, set()):
            return ""
        return hashlib.sha256("\x00".join(parts).encode()).hexdigest()

    def _dependencies(  # noqa: PLR0917 - the walk's state, passed down the recursion
        self, module: Module, start: int, end: int, parts: list[str], seen: set[str],
        local: frozenset[str] = frozenset(),
    ) -> bool:
        """Append the source of ``module.text[start:end]`` and of every name it uses to ``parts``.

        False when some name cannot be pinned down (defined nowhere, or a package the
        lockfile does not pin): then no digest is given and the validator is never "unchanged".
        """
        text = module.text[start:end]
        parts.append(text)
        try:
            tokens = tokenize(text, module.source)
        except ParseError:
            return False
        local = local | arrow_parameters(tokens)
        for index, token in enumerate(tokens):
            before = tokens[index - 1].text if index else ""
            after = tokens[index + 1].text if index + 1 < len(tokens) else ""
            if token.kind != "ident" or before in {".", "?."}:
                continue
            if after == ":" and before in {"{", ","}:  # an object key, not a reference
                continue
            key = f"{module.source}#{token.text}"
            if key in seen:
                continue
            seen.add(key)
            if token.text in self.scope and module is self.module:
                parts.append(f"scope:{token.text}={self.scope[token.text]!r}")
            elif token.text in module.bindings:
                bound = module.bindings[token.text]
                params = frozenset(bound.params) if isinstance(bound, Arrow) else frozenset()
                if not self._dependencies(module, bound.start, bound.end, parts, seen, params):
                    return False
            elif token.text in module.imports:
                specifier, imported = module.imports[token.text]
                if not self._import_dependency(module, specifier, imported, parts, seen):
                    return False
            elif token.text in local:
                continue  # a parameter of a function inside the expression, defined nowhere else
            elif token.text not in JS_GLOBALS:
                return False  # a name defined nowhere: what it is cannot be pinned down
        return True

    def _import_dependency(self, module: Module, specifier: str, imported: str, parts: list[str],
                           seen: set[str]) -> bool:
        if specifier.startswith("."):
            other = self.load_module(module, specifier)
            if other is None or other.source in seen:
                return other is not None
            seen.add(other.source)
            # a whole local module: its text, and what each of its own imports resolves to
            parts.append(f"module:{other.source}:{imported}\x00{other.text}")
            return all(self._import_dependency(other, spec, name, parts, seen)
                       for spec, name in sorted(set(other.imports.values())))
        version = self.versions(package_name(specifier)) if self.versions else None
        if not version:
            return False
        parts.append(f"package:{specifier}@{version}:{imported}")
        return True
