"""Run every benchmark in this folder (each ``bench_*.py`` module's ``main()``), one after another.

Run: ``.venv/bin/python bench/run.py`` (optionally with name fragments to pick some:
``.venv/bin/python bench/run.py eventlog``).
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks; return a process exit status."""
    wanted = sys.argv[1:] if argv is None else argv
    failed = 0
    for path in sorted(HERE.glob("bench_*.py")):
        if wanted and not any(w in path.stem for w in wanted):
            continue
        print(f"=== {path.stem}", flush=True)
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module  # dataclasses and pickling look modules up by name
        began = time.perf_counter()
        try:
            spec.loader.exec_module(module)
            module.main([])
        except Exception as err:  # one broken bench must not hide the others' figures
            failed += 1
            print(f"!!! {path.stem} failed: {err!r}", flush=True)
        print(f"=== {path.stem}: {time.perf_counter() - began:.1f} s\n", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
