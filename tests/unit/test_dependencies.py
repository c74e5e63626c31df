"""Every package the library imports is declared in pyproject.toml, not merely installed because
something else needs it; and the Python versions the Makefile accepts are the ones pyproject
allows."""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Iterator

from ..conftest import REPO

#: the folders whose imports a plain ``pip install tf-workbench`` must satisfy
SOURCES = ("workbench", "widgets")
FIRST_PARTY = {"workbench", "bench", "tests"}
#: modules the library imports only for an optional extra: module -> extra that declares it
#: (an entry here lets such an import stay out of the runtime dependencies)
EXTRA_ONLY: dict[str, str] = {"kfp": "kubeflow", "apache_beam": "beam"}


def _normalize(name: str) -> str:
    """PEP 503: case and runs of ``-``, ``_``, ``.`` do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(spec: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
    assert match, f"cannot read a distribution name from requirement {spec!r}"
    return _normalize(match.group(1))


def _declared() -> tuple[set[str], dict[str, set[str]]]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    runtime = {_requirement_name(s) for s in project["dependencies"]}
    extras = {extra: {_requirement_name(s) for s in specs}
              for extra, specs in project.get("optional-dependencies", {}).items()}
    return runtime, extras


def _imports() -> Iterator[tuple[str, str]]:
    """``(dotted module, file:line)`` of every absolute, third-party import, also inside
    functions."""
    for folder in SOURCES:
        for path in sorted((REPO / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    top = module.partition(".")[0]
                    if top in FIRST_PARTY or top in sys.stdlib_module_names:
                        continue
                    yield module, f"{path.relative_to(REPO)}:{node.lineno}"


@functools.cache
def _files(distribution: str) -> tuple[str, ...]:
    return tuple(str(f) for f in importlib.metadata.distribution(distribution).files or ())


def _distribution(module: str, owners: dict[str, list[str]]) -> str | None:
    """The installed distribution that provides ``module``. A namespace package (``google``)
    has several owners: pick the one whose files hold the longest matching subpackage."""
    candidates = owners.get(module.partition(".")[0], [])
    if len(candidates) <= 1:
        return _normalize(candidates[0]) if candidates else None
    parts = module.split(".")
    for depth in range(len(parts), 1, -1):
        prefix = "/".join(parts[:depth])
        holders = {_normalize(name) for name in candidates
                   if any(f.startswith((prefix + "/", prefix + ".")) for f in _files(name))}
        if len(holders) == 1:
            return holders.pop()
    return None


def _imported_distributions() -> dict[str, list[tuple[str, str]]]:
    """Distribution -> ``(module, file:line)`` of each import of it."""
    owners = importlib.metadata.packages_distributions()
    found: dict[str, list[tuple[str, str]]] = {}
    unknown = []
    for module, where in _imports():
        dist = _distribution(module, owners)
        if dist is None:
            unknown.append(f"{module} ({where})")
            continue
        found.setdefault(dist, []).append((module, where))
    assert not unknown, ("no installed distribution provides: " + ", ".join(unknown) +
                         "; install it (make install) and declare it in pyproject.toml")
    return found


def test_every_imported_package_is_declared() -> None:
    runtime, extras = _declared()
    problems = []
    for dist, uses in sorted(_imported_distributions().items()):
        modules = {m.partition(".")[0] for m, _ in uses}
        optional = {EXTRA_ONLY[m] for m in modules if m in EXTRA_ONLY}
        shown = ", ".join(f"{m} ({where})" for m, where in uses[:3]) + \
            (f" and {len(uses) - 3} more" if len(uses) > 3 else "")
        if optional:
            for extra in sorted(optional):
                if dist not in extras.get(extra, set()):
                    problems.append(f"{shown}: add '{dist}' to [project.optional-dependencies] "
                                    f"{extra}")
        elif dist not in runtime:
            where = [e for e, names in extras.items() if dist in names]
            only = f" (only the extra {', '.join(where)} has it)" if where else ""
            problems.append(f"{shown}: add '{dist}' to [project] dependencies{only}")
    assert not problems, "imported but not declared in pyproject.toml:\n  " + \
        "\n  ".join(problems)


def test_the_import_walk_sees_the_main_dependencies() -> None:
    """Not vacuous: the walk finds the imports everyone knows are there, by distribution."""
    found = _imported_distributions()
    assert {"tensorflow", "numpy", "click", "pyarrow", "protobuf"} <= set(found), sorted(found)
    # imports inside functions count too (tensorflow is mostly imported lazily)
    assert any(where.startswith("workbench/export/") for _, where in found["tensorflow"])


def test_extra_only_modules_name_existing_extras() -> None:
    _, extras = _declared()
    assert set(EXTRA_ONLY.values()) <= set(extras), EXTRA_ONLY


def test_the_quantizer_and_litert_pins_agree() -> None:
    """ai-edge-quantizer pins ai-edge-litert exactly; pyproject must say the same version."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    ours = next(s for s in project["dependencies"]
                if _requirement_name(s) == "ai-edge-litert")
    theirs = [r for r in importlib.metadata.requires("ai-edge-quantizer") or ()
              if _requirement_name(r) == "ai-edge-litert" and "extra ==" not in r]
    assert theirs, "ai-edge-quantizer no longer requires ai-edge-litert: relax our pin"
    pinned = re.findall(r"==\s*([\w.]+)", theirs[0])
    assert pinned and ours.replace(" ", "") == f"ai-edge-litert=={pinned[0]}", (ours, theirs)


def _as_tuple(version: str) -> str:
    return "(" + ", ".join(version.split(".")) + ")"


def test_the_makefile_accepts_the_python_versions_pyproject_allows() -> None:
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    low, high = re.fullmatch(r">=(\d+\.\d+),<(\d+\.\d+)", requires.replace(" ", "")).groups()
    check = f"{_as_tuple(low)} <= sys.version_info[:2] < {_as_tuple(high)}"
    assert check in (REPO / "Makefile").read_text(), \
        f"the Makefile's Python check disagrees with requires-python {requires!r}"
    readme = (REPO / "README.md").read_text()
    assert "requires-python" in readme and f"Python {low}" in readme
