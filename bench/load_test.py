"""Load test: 20 browser sessions click through the Verify and Dataset pages while a model
trains, against a server on loopback. Bounded in sessions, clicks and time.

    .venv/bin/python -m bench load_test [--sessions 20] [--clicks 5] [--deadline 240]

Reports page-ready time per session (median and worst), errors (target: none), and the
server's peak memory (VmHWM; target: under 2.5 GB for 20 sessions with one CNN loaded,
i.e. the dataset and each model held once, not per session).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from classifier.store.runs import RunStore
from tests.support import ROOT
from tests.support.browser import launch_options, new_context_async, wait_for_app_async
from tests.support.server import AppServer

MEMORY_TARGET_MB = 2500


def cli(runs_dir: Path, *args: str, wait: bool = True):
    command = [sys.executable, "-m", "classifier", "--runs-dir", str(runs_dir), *args]
    if wait:
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        return None
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def memory_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


async def session(browser, url: str, path: str, clicks: int, timeout_ms: int) -> dict:
    """One user: open the page, wait until it is ready, click Next a few times."""
    result = {"path": path, "ready_s": None, "clicks": 0, "errors": []}
    context = await new_context_async(browser, viewport={"width": 1300, "height": 900})
    page = await context.new_page()
    try:
        started = time.monotonic()
        await page.goto(f"{url}/{path}", timeout=timeout_ms)
        await wait_for_app_async(page, timeout_ms)
        await page.get_by_role("button", name=re.compile(r"^Next")).first.wait_for(
            timeout=timeout_ms
        )
        result["ready_s"] = time.monotonic() - started
        for _ in range(clicks):
            await page.get_by_role("button", name=re.compile(r"^Next")).first.click(
                timeout=timeout_ms
            )
            await wait_for_app_async(page, timeout_ms)
            result["clicks"] += 1
        if await page.locator("[data-testid='stException']").count():
            result["errors"].append("exception shown")
    except Exception as error:  # a timeout or a crash is what the test counts
        result["errors"].append(f"{type(error).__name__}: {str(error).splitlines()[0][:120]}")
    finally:
        await context.close()
    return result


async def run_sessions(url: str, sessions: int, clicks: int, deadline: float) -> list[dict]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(**launch_options())
        paths = ["verify" if number % 2 == 0 else "dataset" for number in range(sessions)]
        tasks = [session(browser, url, path, clicks, int(deadline * 1000)) for path in paths]
        try:
            return await asyncio.wait_for(asyncio.gather(*tasks), timeout=deadline)
        finally:
            await browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--clicks", type=int, default=5)
    parser.add_argument("--deadline", type=float, default=300, help="seconds for all sessions")
    args = parser.parse_args()

    runs_dir = Path(tempfile.mkdtemp(prefix="load-test-runs-"))
    print("preparing: a Small CNN run to verify (1 epoch on 6,000 images)", flush=True)
    cli(
        runs_dir,
        "train",
        "--preset",
        "Small CNN",
        "--epochs",
        "1",
        "--train-limit",
        "6000",
        "--quiet",
    )
    server = AppServer(runs_dir, runs_dir.parent / f"{runs_dir.name}-streamlit.log")
    url = server.url
    trainer = None
    try:
        server.wait_healthy()
        # Warm the shared caches once, as the first visitor of a demo would.
        asyncio.run(run_sessions(url, 2, 0, 120))
        warm_mb = memory_mb(server.pid, "VmRSS")
        trainer = cli(
            runs_dir, "train", "--preset", "Tutorial MLP", "--epochs", "50", "--quiet", wait=False
        )
        started = time.monotonic()
        results = asyncio.run(run_sessions(url, args.sessions, args.clicks, args.deadline))
        elapsed = time.monotonic() - started
        peak_mb = memory_mb(server.pid, "VmHWM")
        training = [run for run in RunStore(runs_dir).list_runs() if run.preset == "Tutorial MLP"]
    finally:
        if trainer:
            trainer.terminate()
            trainer.wait()
        server.stop()

    ready = sorted(r["ready_s"] for r in results if r["ready_s"] is not None)
    errors = [(r["path"], error) for r in results for error in r["errors"]]
    clicks = sum(r["clicks"] for r in results)
    print(
        f"sessions: {len(results)} ({args.sessions // 2} Verify, "
        f"{args.sessions - args.sessions // 2} Dataset), {clicks} clicks in {elapsed:.0f} s, "
        f"while a training job ran ({training[0].status if training else 'none'}, "
        f"{training[0].epochs_done if training else 0} epochs reached)"
    )
    if ready:
        print(f"page ready: median {statistics.median(ready):.1f} s, worst {ready[-1]:.1f} s")
    print(f"errors: {len(errors)} (target 0)")
    for path, error in errors[:10]:
        print(f"  {path}: {error}")
    print(
        f"server memory: {warm_mb:.0f} MB after the first visit, peak {peak_mb:.0f} MB "
        f"(target < {MEMORY_TARGET_MB} MB: ratio {peak_mb / MEMORY_TARGET_MB:.2f})"
    )
    ok = not errors and peak_mb < MEMORY_TARGET_MB and len(ready) == args.sessions
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
