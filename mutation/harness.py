"""Run mutmut on one module against its focused tests, and score the result.

mutmut 3 copies the source into ``mutants/`` and puts ``mutants/src`` first on
``sys.path``; it knows the ``src/`` layout, not ours (``lib/``). So each module gets a
staging directory, ``.mutation/<name>/``, holding ``src/deploycheck`` (a copy of
``lib/deploycheck``), the tests, the fixtures they read, a ``pytest.ini`` made from
``pyproject.toml``'s pytest settings and a ``pyproject.toml`` with only the ``[tool.mutmut]``
table for this module. The installed distribution's ``pytest11`` entry point then loads
``deploycheck.pytest_plugin`` from the mutated copy, like every other import of the tests.

A mutant counts as killed when its tests failed, timed out or crashed. A surviving mutant
is *equivalent* when ``equivalent.toml`` lists it (by module, function and the changed
lines, so renumbering after an edit cannot make an entry point at another mutant), with
the reason no behaviour can tell it from the original.
"""

from __future__ import annotations

import fcntl
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
WORK = REPO / ".mutation"

#: what the staging directory copies from the repository (the tests read fixtures and the config)
STAGED = ("tests", "fixtures", "checks", "conftest.py", "deploycheck.yaml")
_IGNORED = shutil.ignore_patterns("node_modules", ".wrangler", "__pycache__", ".hypothesis", "*.pyc")

#: mutmut's exit codes (``mutmut.stats.status_by_exit_code``) that mean the tests noticed
KILLED = frozenset({"killed", "timeout", "segfault"})
_STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped",
           36: "timeout", -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout",
           -11: "segfault", -9: "segfault"}  # fmt: skip


class HarnessError(Exception):
    """The configuration is wrong or mutmut could not run; the message says which."""


@dataclass(frozen=True)
class Module:
    """One module under mutation testing: its name, its file and its focused tests."""

    name: str
    path: str
    tests: tuple[str, ...]
    #: only these functions are mutated (``_not_shown``, ``Syncer._record``); empty: the whole module
    functions: tuple[str, ...] = ()

    def patterns(self, digits: str = "") -> list[str]:
        """mutmut's name patterns of the mutants to run: the listed functions (every function
        when none are listed), only those numbered ``...[digits]`` when ``digits`` is given;
        empty when every mutant of the module runs."""
        suffix = f"[{digits}]" if digits else ""
        if not self.functions:
            return [f"{self.dotted}.*__mutmut_*{suffix}"] if digits else []
        # mutmut names a function's mutants x_<function>, a method's xǁ<Class>ǁ<method>
        names = [
            ("x" + "".join(f"ǁ{p}" for p in f.split("."))) if "." in f else f"x_{f}" for f in self.functions
        ]
        return [f"{self.dotted}.{name}__mutmut_*{suffix}" for name in names]

    @property
    def dotted(self) -> str:
        """The import name, ``deploycheck.redact`` for ``lib/deploycheck/redact.py``."""
        return ".".join(Path(self.path).with_suffix("").parts[1:])

    @property
    def staged_path(self) -> str:
        """Where the module sits in the staging directory (``src/`` instead of ``lib/``)."""
        return str(Path("src", *Path(self.path).parts[1:]))


@dataclass(frozen=True)
class Equivalent:
    """A surviving mutant no test can kill, because it changes no behaviour."""

    module: str
    function: str
    original: str
    mutant: str
    reason: str
    #: the line just above the change, when the changed lines alone occur twice in the function
    after: str = ""

    def matches(self, mutant: Mutant) -> bool:
        """True when ``mutant`` is this one (same function, same changed lines, same line above if given)."""
        same = (mutant.function, mutant.removed, mutant.added) == (self.function, self.original, self.mutant)
        return same and (not self.after or self.after == mutant.before)


@dataclass(frozen=True)
class Settings:
    """``modules.toml``: the floor, the quick sample and the modules."""

    floor: float
    quick_digits: str
    modules: dict[str, Module]
    equivalents: tuple[Equivalent, ...] = ()


def _changed(diff: str, sign: str) -> str:
    return "\n".join(
        line[1:].strip()
        for line in diff.splitlines()
        if line.startswith(sign) and not line.startswith(sign * 3)
    )


@dataclass(frozen=True)
class Mutant:
    """One mutant of a module and what mutmut found."""

    name: str
    status: str
    diff: str = ""

    @property
    def function(self) -> str:
        """The mutated function, ``Redactor.add`` for ``...xǁRedactorǁadd__mutmut_3``."""
        base = self.name.rsplit(".", 1)[-1].rsplit("__mutmut_", 1)[0]
        return base.removeprefix("x_").removeprefix("xǁ").replace("ǁ", ".")

    @property
    def removed(self) -> str:
        """The original lines the mutation changed (stripped, one per line)."""
        return _changed(self.diff, "-")

    @property
    def before(self) -> str:
        """The unchanged line just above the change (stripped)."""
        previous = ""
        for line in self.diff.splitlines():
            if line.startswith("-") and not line.startswith("---"):
                return previous
            if line.startswith(" "):
                previous = line.strip()
        return previous

    @property
    def added(self) -> str:
        """The lines the mutation put in their place."""
        return _changed(self.diff, "+")

    @property
    def killed(self) -> bool:
        """True when the tests noticed the mutation."""
        return self.status in KILLED


@dataclass
class Score:
    """The outcome of one module: every mutant, and which survivors are equivalent."""

    module: Module
    mutants: list[Mutant]
    equivalent: list[Mutant] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def killed(self) -> int:
        """How many mutants the tests killed."""
        return sum(m.killed for m in self.mutants)

    @property
    def survivors(self) -> list[Mutant]:
        """The mutants no test killed and no entry of equivalent.toml explains."""
        equivalent = {m.name for m in self.equivalent}
        return [m for m in self.mutants if not m.killed and m.name not in equivalent]

    @property
    def score(self) -> float:
        """killed / (mutants - equivalent); 1.0 when every mutant is equivalent."""
        real = len(self.mutants) - len(self.equivalent)
        return self.killed / real if real else 1.0


def load_settings(
    path: Path = HERE / "modules.toml", equivalents: Path = HERE / "equivalent.toml"
) -> Settings:
    """Read ``modules.toml`` and ``equivalent.toml``; raise HarnessError naming a bad entry."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        listed = tomllib.loads(equivalents.read_text(encoding="utf-8")) if equivalents.exists() else {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        msg = f"cannot read the mutation settings: {exc}"
        raise HarnessError(msg) from None
    modules = {}
    for name, entry in data.get("modules", {}).items():
        if not isinstance(entry.get("path"), str) or not entry.get("tests"):
            msg = f"{path.name}: modules.{name} needs a 'path' and a non-empty 'tests' list"
            raise HarnessError(msg)
        for item in [entry["path"], *entry["tests"]]:
            if not (REPO / item).exists():
                msg = f"{path.name}: modules.{name} names {item}, which does not exist; repoint it"
                raise HarnessError(msg)
        functions = entry.get("functions", [])
        if not isinstance(functions, list) or not all(isinstance(f, str) and f for f in functions):
            msg = f"{path.name}: modules.{name}.functions must be a list of function names"
            raise HarnessError(msg)
        modules[name] = Module(name, entry["path"], tuple(entry["tests"]), tuple(functions))
    found = []
    for number, entry in enumerate(listed.get("equivalent", []), 1):
        missing = [k for k in ("module", "function", "original", "mutant", "reason") if not entry.get(k)]
        if missing or entry["module"] not in modules:
            msg = f"{equivalents.name}: entry {number} needs {', '.join(missing)}" if missing else (
                f"{equivalents.name}: entry {number} names module {entry['module']!r}; "
                f"known: {', '.join(modules)}"
            )  # fmt: skip
            raise HarnessError(msg)
        fields = {k: str(entry.get(k, "")).strip() for k in Equivalent.__dataclass_fields__}
        found.append(Equivalent(**fields))
    return Settings(float(data.get("floor", 0.9)), str(data.get("quick_digits", "")), modules, tuple(found))


def _pytest_ini() -> str:
    options = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]
    lines = ["[pytest]"]
    for key, value in options["ini_options"].items():
        if isinstance(value, list):
            lines.append(f"{key} =" + "".join(f"\n    {item}" for item in value))
        else:
            lines.append(f"{key} = {str(value).lower() if isinstance(value, bool) else value}")
    return "\n".join(lines) + "\n"


def _toml_list(items: Iterable[str]) -> str:
    return "[" + ", ".join(json.dumps(item) for item in items) + "]"


def stage(module: Module, work: Path, max_children: int) -> None:
    """Make ``work`` the staging directory of ``module`` (see the module docstring)."""
    if work.exists():
        shutil.rmtree(work)
    (work / "src").mkdir(parents=True)
    package = Path(module.path).parts[1]
    shutil.copytree(REPO / "lib" / package, work / "src" / package, ignore=_IGNORED)
    for name in STAGED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, work / name, ignore=_IGNORED)
        elif source.exists():
            shutil.copy2(source, work / name)
    (work / "pytest.ini").write_text(_pytest_ini(), encoding="utf-8")
    also_copy = [name for name in (*STAGED, "pytest.ini") if name != "tests" and (work / name).exists()]
    (work / "pyproject.toml").write_text(
        "[tool.mutmut]\n"
        'source_paths = ["src"]\n'
        f"only_mutate = {_toml_list([module.staged_path])}\n"
        f"also_copy = {_toml_list(also_copy)}\n"
        f"pytest_add_cli_args_test_selection = {_toml_list(module.tests)}\n"
        'pytest_add_cli_args = ["--no-reports", "-p", "no:cacheprovider"]\n'
        f"# run with --max-children {max_children}\n",
        encoding="utf-8",
    )


def _mutmut(work: Path, *args: str, log: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "NO_COLOR": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mutmut", *args],
        cwd=work, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if log is not None:
        with log.open("a", encoding="utf-8") as out:
            out.write(f"$ mutmut {' '.join(args)}\n{result.stdout}\n{result.stderr}\n")
    return result


_DIFFS = """
import json, sys
from mutmut.mutation.diff_apply import get_diff_for_mutant
path, names = sys.argv[1], sys.argv[2:]
print(json.dumps({name: get_diff_for_mutant(name, path=path) for name in names}))
"""


def diffs_of(work: Path, module: Module, names: Sequence[str]) -> dict[str, str]:
    """The diff of each named mutant, as ``mutmut show`` prints it (one process for all of them)."""
    if not names:
        return {}
    result = subprocess.run(
        [sys.executable, "-c", _DIFFS, module.staged_path, *names],
        cwd=work, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode == 0:
        diffs: dict[str, str] = json.loads(result.stdout)
        return diffs
    # mutmut's internals moved: ask its command line, one mutant at a time
    return {name: _mutmut(work, "show", name).stdout for name in names}


def quick_pattern(module: Module, digits: str) -> str:
    """The mutmut name pattern of the quick sample: mutants numbered ``...[digits]``."""
    return f"{module.dotted}.*__mutmut_*[{digits}]"


def run_module(
    module: Module, settings: Settings, *, quick: bool, max_children: int, root: Path = WORK
) -> Score:
    """Stage ``module`` under ``root``, run mutmut on it (or on the quick sample) and score the result."""
    started = time.perf_counter()
    work = root / module.name
    root.mkdir(parents=True, exist_ok=True)
    with (root / f"{module.name}.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            msg = f"another mutation run is using {work}; wait for it or stop it"
            raise HarnessError(msg) from None
        return _run_locked(module, settings, work, started, quick=quick, max_children=max_children)


def _run_locked(
    module: Module, settings: Settings, work: Path, started: float, *, quick: bool, max_children: int
) -> Score:
    stage(module, work, max_children)
    log = work / "mutmut.log"
    patterns = module.patterns(settings.quick_digits if quick else "")
    result = _mutmut(work, "run", "--max-children", str(max_children), *patterns, log=log)
    meta = work / "mutants" / (module.staged_path + ".meta")
    if result.returncode != 0 or not meta.exists():
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
        msg = f"mutmut failed on {module.path} (exit {result.returncode}; log: {log}):\n{tail}"
        raise HarnessError(msg)
    codes: Mapping[str, int | None] = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
    if patterns:
        codes = {k: v for k, v in codes.items() if any(fnmatch.fnmatchcase(k, p) for p in patterns)}
    statuses = {name: _status(code) for name, code in codes.items()}
    # timed-out mutants too: a timeout on a loaded machine must not make an equivalent entry look stale
    wanted = [name for name, status in statuses.items() if status not in KILLED or status == "timeout"]
    diffs = diffs_of(work, module, wanted)
    mutants = [Mutant(name, statuses[name], diffs.get(name, "")) for name in sorted(statuses, key=_natural)]
    if not mutants:
        msg = f"mutmut made no mutants of {module.path} (log: {log})"
        raise HarnessError(msg)
    score = Score(module, mutants, seconds=time.perf_counter() - started)
    listed = [e for e in settings.equivalents if e.module == module.name]
    score.equivalent = [m for m in mutants if not m.killed and any(e.matches(m) for e in listed)]
    return score


def _status(code: int | None) -> str:
    return "not checked" if code is None else _STATUS.get(code, "suspicious")


def _natural(name: str) -> tuple[str, int]:
    base, _, number = name.rpartition("__mutmut_")
    return base, int(number) if number.isdigit() else 0


def stale_equivalents(settings: Settings, scores: Sequence[Score]) -> list[Equivalent]:
    """Entries of equivalent.toml that match no surviving (or timed-out) mutant of a fully run module.

    A timeout says nothing about an equivalent mutant (the tests ran out of time, on a loaded
    machine), so an entry matching one is not stale.
    """
    survivors = {
        s.module.name: [m for m in s.mutants if not m.killed or m.status == "timeout"] for s in scores
    }
    return [
        e for e in settings.equivalents
        if e.module in survivors and not any(e.matches(m) for m in survivors[e.module])
    ]  # fmt: skip


def render_table(scores: Sequence[Score], floor: float) -> str:
    """The table of results: module, mutants, killed, equivalent, survived, score, verdict."""
    rows = [("module", "mutants", "killed", "equivalent", "survived", "score", "", "time")]
    for s in scores:
        verdict = "ok" if s.score >= floor else f"below {floor:.0%}"
        rows.append((s.module.path, str(len(s.mutants)), str(s.killed), str(len(s.equivalent)),
                     str(len(s.survivors)), f"{s.score:.1%}", verdict, f"{s.seconds:.0f} s"))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                       enumerate(zip(row, widths, strict=True))).rstrip() for row in rows]  # fmt: skip
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def render_survivors(score: Score) -> str:
    """Each real survivor of a module with its diff: what a new test must notice."""
    parts = [f"surviving mutants of {score.module.path} (kill them with a test, or list them in "
             f"mutation/equivalent.toml with the reason they change nothing):"]  # fmt: skip
    for mutant in score.survivors:
        parts.append(f"\n# {mutant.name}: {mutant.status} ({mutant.function})")
        parts.append("\n".join(line for line in mutant.diff.splitlines() if not line.startswith("# ")))
    return "\n".join(parts)
