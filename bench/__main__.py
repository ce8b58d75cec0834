"""Run every benchmark, one after the other, and record the figures in docs/benchmarks.md.

    .venv/bin/python -m bench            # all of them (about 15-20 minutes)
    .venv/bin/python -m bench images     # only those whose file name contains "images"

Each script prints its own medians and ratios, measured side by side in one run; this
runner only collects their output with the machine's description.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
REPORT = ROOT / "docs" / "benchmarks.md"
# Cheap first; the load test last, since it trains a model while 20 browsers click.
ORDER = [
    "bench_dataset",
    "bench_images",
    "bench_verify",
    "bench_explore",
    "bench_training",
    "bench_memory",
    "load_test",
]


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
    wanted = argv[0] if argv else ""
    scripts = [BENCH_DIR / f"{name}.py" for name in ORDER if wanted in name]
    scripts = [script for script in scripts if script.exists()]
    sections, failures = [], 0
    for script in scripts:
        print(f"== {script.name}", flush=True)
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, str(script)], cwd=ROOT, text=True, capture_output=True
        )
        output = (result.stdout + ("\n" + result.stderr if result.returncode else "")).strip()
        print(output, flush=True)
        failures += result.returncode != 0
        status = "" if result.returncode == 0 else f" (FAILED, exit {result.returncode})"
        sections.append(
            f"## {script.stem}{status}\n\n{time.monotonic() - started:.0f} s in all."
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
