"""``python -m bench [NAME ...]``: run every benchmark module (or the named ones) in turn."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = argv or sorted(m.name for m in pkgutil.iter_modules([str(here)])
                           if m.name.startswith("bench_"))
    status = 0
    for name in names:
        name = name if name.startswith("bench_") else f"bench_{name}"
        # each benchmark in its own process: no warm caches or threads carried over
        code = subprocess.call([sys.executable, "-m", f"bench.{name}"], cwd=here.parent)
        status = status or code
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
