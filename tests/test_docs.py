"""The documentation site builds with --strict (a broken API reference, snippet or page fails
CI), and every public module of metajax has a place in the API reference."""

import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import metajax

ROOT = Path(__file__).resolve().parents[1]


def test_the_site_builds_strictly(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    # not --quiet: it hides the warnings that --strict turns into a failure
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                             "-d", str(tmp_path / "site")], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    assert (tmp_path / "site" / "reference" / "meta_learner" / "index.html").is_file()


def test_every_public_module_is_in_the_api_reference():
    referenced = set()
    for page in (ROOT / "docs" / "reference").glob("*.md"):
        referenced |= set(re.findall(r"^::: (\S+)$", page.read_text(), re.M))
    modules = {m.name for m in pkgutil.walk_packages(metajax.__path__, "metajax.")
               if not m.ispkg and not m.name.split(".")[-1].startswith("_")}
    missing = sorted(modules - referenced - {"metajax.cli"})
    assert not missing, f"add to docs/reference/*.md: {missing}"


def test_the_readme_lists_every_page():
    readme = (ROOT / "README.md").read_text()
    pages = {str(p.relative_to(ROOT)) for p in (ROOT / "docs").rglob("*.md")
             if p.parent.name != "reference" and p.name != "index.md"}
    assert pages <= set(re.findall(r"`(docs/[\w/.-]+\.md)`", readme)), pages
