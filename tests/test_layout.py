"""The package stays readable: every function seen whole on one screen, every module read
in one sitting (docs/architecture.md, "Functions a reader sees whole")."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import mnist_reg

PACKAGE = Path(mnist_reg.__file__).parent
PYPROJECT = PACKAGE.parent / "pyproject.toml"
CONF = PACKAGE.parent / "conf"
PLUGINS = PACKAGE.parent / "hydra_plugins"  # mnist-reg's Hydra launchers
MAX_FUNCTION_LINES = 50
MAX_MODULE_LINES = 260


def _modules() -> list[Path]:
    return sorted([*PACKAGE.rglob("*.py"), *PLUGINS.rglob("*.py")])


def _function_lengths(path: Path) -> list[tuple[str, int]]:
    """Each function's name and its lines, from its first decorator to its last line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            found.append((node.name, (node.end_lineno or node.lineno) - first + 1))
    return found


def test_no_function_is_longer_than_a_screen() -> None:
    long = [
        f"{path.relative_to(PACKAGE)}:{name} ({lines} lines)"
        for path in _modules()
        for name, lines in _function_lengths(path)
        if lines > MAX_FUNCTION_LINES
    ]
    assert long == []


def test_no_module_is_longer_than_a_sitting() -> None:
    long = [
        f"{path.relative_to(PACKAGE)} ({lines} lines)"
        for path in _modules()
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    ]
    assert long == []


def test_the_rules_see_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    path = tmp_path / "long.py"
    path.write_text(f"@staticmethod\ndef long():\n{body}\n")
    assert _function_lengths(path) == [("long", MAX_FUNCTION_LINES + 2)]


def test_every_package_folder_is_installed() -> None:
    """``pip install .`` installs the packages pyproject.toml lists, and only those: a stage
    folder missing there works in the editable install the tests use and is absent from a
    user's (``mnist_reg.repeats`` was, and ``repeat`` failed on import)."""
    listed = set(tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]["packages"])
    folders = {
        ".".join(("mnist_reg", *init.parent.relative_to(PACKAGE).parts))
        for init in PACKAGE.rglob("__init__.py")
    }
    configs = {
        ".".join(("mnist_reg", "conf", *folder.relative_to(CONF).parts)).rstrip(".")
        for folder in [CONF, *(p for p in CONF.rglob("*") if p.is_dir())]
        if any(folder.glob("*.yaml"))
    }
    plugins = {
        ".".join(("hydra_plugins", *init.parent.relative_to(PLUGINS).parts))
        for init in PLUGINS.rglob("__init__.py")
    }
    assert sorted((folders | configs | plugins) - listed) == []
