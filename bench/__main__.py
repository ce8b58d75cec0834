"""Run the benchmarks, each in a fresh process, and record the figures in docs/benchmarks.md.

    .venv/bin/python -m bench                  # the regular set, in order (15-20 minutes),
                                               # written to docs/benchmarks.md
    .venv/bin/python -m bench --list           # every benchmark, with what it measures
    .venv/bin/python -m bench NAME [OPTIONS]   # those whose name contains NAME; the options
                                               # go to it (e.g. `-m bench recipes --list`)

Each benchmark is a module of this package (bench/NAME.py, run as `python -m bench.NAME`),
which prints its own medians and ratios, measured side by side in one run; this runner only
collects their output with the machine's description. Some are on demand only (not in the
regular set): they take hours, or need a choice (the recipe search trains a named recipe).
"""

from __future__ import annotations

import ast
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
REPORT = ROOT / "docs" / "benchmarks.md"
# The regular set. Cheap first; the load test last, since it trains a model while 20
# browsers click.
ORDER = [
    "bench_dataset",
    "bench_images",
    "bench_verify",
    "bench_explore",
    "bench_training",
    "bench_memory",
    "bench_room",
    "load_test",
]
USAGE = __doc__.split("\n\n")[1]


def benchmarks() -> list[str]:
    """Every benchmark module: the regular set in its order, then the others by name."""
    found = {path.stem for path in BENCH_DIR.glob("*.py") if not path.stem.startswith("_")}
    return [name for name in ORDER if name in found] + sorted(found - set(ORDER))


def summary(name: str) -> str:
    """The first paragraph of a benchmark's docstring, on one line (read, not imported:
    importing some of them loads TensorFlow)."""
    tree = ast.parse((BENCH_DIR / f"{name}.py").read_text())
    docstring = ast.get_docstring(tree) or "(no docstring)"
    return " ".join(docstring.split("\n\n")[0].split())


def print_list() -> None:
    regular = [name for name in benchmarks() if name in ORDER]
    on_demand = [name for name in benchmarks() if name not in ORDER]
    for title, names in (
        ("Regular set (`python -m bench`, in this order):", regular),
        ("On demand (`python -m bench NAME [OPTIONS]`):", on_demand),
    ):
        print(title)
        for name in names:
            print(f"  {name:20s} {summary(name)}")


def machine_description() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = subprocess.run(
        [
            sys.executable,
            "-c",
            "import tensorflow, keras, streamlit, numpy; "
            "print(f'TensorFlow {tensorflow.__version__}, Keras {keras.__version__}, "
            "Streamlit {streamlit.__version__}, NumPy {numpy.__version__}')",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    ).stdout.strip()
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}, {versions}"
    )


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    if argv and argv[0] == "--list":
        print_list()
        return 0
    wanted, options = (argv[0], argv[1:]) if argv else ("", [])
    if wanted:
        names = [name for name in benchmarks() if wanted in name]
    else:
        names = [name for name in benchmarks() if name in ORDER]
    if not names:
        sys.stderr.write(f"No benchmark is named like {wanted!r}. The benchmarks:\n")
        sys.stderr.flush()
        print_list()
        return 2
    if options and len(names) > 1:
        print(f"{wanted!r} names {len(names)} benchmarks: {', '.join(names)}", file=sys.stderr)
        return 2
    sections, failures = [], 0
    for name in names:
        print(f"== {name}", flush=True)
        started = time.monotonic()
        command = [sys.executable, "-m", f"bench.{name}", *options]
        if wanted:  # no report to write: show its output as it comes
            failures += subprocess.run(command, cwd=ROOT).returncode != 0
            continue
        result = subprocess.run(command, cwd=ROOT, text=True, capture_output=True)
        output = (result.stdout + ("\n" + result.stderr if result.returncode else "")).strip()
        print(output, flush=True)
        failures += result.returncode != 0
        status = "" if result.returncode == 0 else f" (FAILED, exit {result.returncode})"
        sections.append(
            f"## {name}{status}\n\n{time.monotonic() - started:.0f} s in all."
            f"\n\n```\n{output}\n```\n"
        )
    if not wanted:
        REPORT.write_text(
            "# Benchmark figures\n\n"
            f"Produced by `.venv/bin/python -m bench` (or `make bench`) on "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n\n"
            f"Machine: {machine_description()}.\n\n"
            "This machine's speed jumps between two levels, so each script compares "
            "variants side by side in one run and reports ratios.\n\n" + "\n".join(sections)
        )
        print(f"wrote {REPORT.relative_to(ROOT)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
