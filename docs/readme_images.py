"""mkdocs hook: the Home page is the README (a snippet), whose images live under
``benchmarks/results/``, outside ``docs/``; add them to the site at the same paths so the page
shows them and strict link checking finds them."""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]


def on_files(files, config):
    for link in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", (ROOT / "README.md").read_text()):
        if not link.startswith(("http://", "https://")) and (ROOT / link).is_file():
            files.append(File.generated(config, link, abs_src_path=str(ROOT / link)))
    return files
