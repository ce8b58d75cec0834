"""The test suite's wall time against an earlier commit's, side by side in one run: the
whole suite of each, and this tree's counterparts of the earlier tests alone (issue 18: "no
slower than today").

    .venv/bin/python -m bench.bench_suite --baseline 28724c4 [--rounds 1]

The baseline is checked out into a temporary clone that uses this tree's virtualenv (the
packages it needs are still installed) and runs its own command (`python -m pytest`, one
process, as its Makefile did); this tree runs `make test`'s (`pytest -n 2 --dist
worksteal`). "The same tests" are this tree's tests whose function name (with its
parameters) the baseline also collects: the earlier tests, wherever the restructuring moved
them. Each round runs baseline, this tree, the same tests, in that order, so the machine's
two speed levels fall on all three. Each run's whole output is kept in the temporary folder
(`bench-suite-ROUND-LABEL.log`). On demand only: a round takes about 25 minutes.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support import ROOT

QUIET = ["-q", "-p", "no:cacheprovider", "-rf"]  # -rf: the failures' names at the end
LOGS = Path(tempfile.gettempdir())
THIS_TREE = ["-n", "2", "--dist", "worksteal"]  # as `make test`


def collected(folder: Path) -> list[str]:
    """The node ids pytest collects in `folder`."""
    output = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", *QUIET],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line for line in output.splitlines() if "::" in line]


def test_name(node_id: str) -> str:
    return node_id.split("::", 1)[1]


def timed_pytest(folder: Path, arguments: list[str], log: Path) -> tuple[float, str]:
    """Wall seconds of one pytest run (its node ids passed through a file: some hold spaces
    and quotes) and its last line; its whole output goes to `log`."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as ids:
        ids.write("\n".join(a for a in arguments if "::" in a))
    options = [a for a in arguments if "::" not in a]
    script = (
        "import sys, pytest; ids = [l for l in open(sys.argv[1]).read().splitlines() if l]; "
        "sys.exit(pytest.main(sys.argv[2:] + ids))"
    )
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", script, ids.name, *options],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - start
    Path(ids.name).unlink()
    log.write_text(result.stdout + result.stderr)
    last = (result.stdout.strip().splitlines() or ["(no output)"])[-1]
    if result.returncode != 0:
        raise SystemExit(f"pytest failed in {folder}: {last} (its output: {log})")
    return seconds, last


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", required=True, help="the earlier commit")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-suite-") as scratch:
        baseline = Path(scratch) / "baseline"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(baseline)], check=True)
        subprocess.run(["git", "checkout", "-q", args.baseline], cwd=baseline, check=True)
        (baseline / ".venv").symlink_to(ROOT / ".venv")
        earlier_tests = collected(baseline)
        earlier = {test_name(node) for node in earlier_tests}
        current = collected(ROOT)
        same = [node for node in current if test_name(node) in earlier]
        print(
            f"baseline {args.baseline}: {len(earlier_tests)} tests ({len(earlier)} names); "
            f"this tree: {len(current)}; this tree's tests with a baseline test's name: "
            f"{len(same)}"
        )
        runs: dict[str, list[float]] = {"baseline": [], "this tree": [], "same tests": []}
        for round_number in range(1, args.rounds + 1):
            for label, folder, arguments in (
                ("baseline", baseline, QUIET),
                ("this tree", ROOT, THIS_TREE + QUIET),
                ("same tests", ROOT, THIS_TREE + QUIET + same),
            ):
                log = LOGS / f"bench-suite-{round_number}-{label.replace(' ', '-')}.log"
                seconds, last = timed_pytest(folder, arguments, log)
                runs[label].append(seconds)
                print(f"round {round_number} {label:10} {seconds:6.0f} s  {last}", flush=True)
    base = statistics.median(runs["baseline"])
    for label, seconds in runs.items():
        middle = statistics.median(seconds)
        print(f"{label:10} median {middle:6.0f} s  ratio to the baseline {middle / base:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
