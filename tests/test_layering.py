"""The import layering, checked statically (as import-linter would): environments,
distributions and networks import nothing above them; algorithms import no CLI, config,
training loop or evaluation; importing one algorithm does not load the others."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "metajax"
# layer: the metajax modules (and packages) it may import
ALLOWED = {
    "envs": {"metajax.envs", "metajax.checks", "metajax.xla_cpu"},  # leaves: import no metajax
    "distributions": {"metajax.checks"},
    "networks": {"metajax.distributions", "metajax.checks"},
}
ABOVE_ALGORITHMS = {"metajax.cli", "metajax.config", "metajax.train", "metajax.evaluate",
                    "metajax.protocol", "metajax.metrics_log", "metajax.checkpoint",
                    "metajax.sweep", "metajax.learners", "metajax.config_parsing"}


def metajax_imports(path: Path) -> set[str]:
    """Every ``metajax...`` module that ``path`` imports at run time (``from metajax import x``
    counts as ``metajax.x``); imports for type annotations only, under ``if TYPE_CHECKING:``,
    are not dependencies (import-linter's ``exclude_type_checking_imports``)."""
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and ast.unparse(node.test).endswith("TYPE_CHECKING")
                   for n in ast.walk(node)}
    names = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names if a.name.startswith("metajax")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("metajax"):
            if node.module == "metajax":
                names |= {f"metajax.{a.name}" for a in node.names}
            else:
                names.add(node.module)
    return names


def files(layer: str) -> list[Path]:
    target = PACKAGE / layer
    return sorted(target.glob("*.py")) if target.is_dir() else [target.with_suffix(".py")]


def allowed(name: str, prefixes: set[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_lower_layers_import_nothing_above_them(layer):
    for path in files(layer):
        bad = {n for n in metajax_imports(path) if not allowed(n, ALLOWED[layer])}
        assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


def test_algorithms_import_no_cli_config_or_training_loop():
    for path in files("algorithms"):
        bad = {n for n in metajax_imports(path) if allowed(n, ABOVE_ALGORITHMS)}
        assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


def test_importing_one_algorithm_loads_no_other():
    code = ("import sys, metajax.algorithms.dqn, metajax.algorithms.rl2; "
            "print(sorted(m for m in sys.modules if m.startswith('metajax.algorithms.')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout
    assert "maml" not in loaded and "regression" not in loaded, loaded
