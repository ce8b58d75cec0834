"""Two sessions at once on a fresh server: one session's script may still be importing
pandas when another draws a plotly figure. Plotly reads pandas from sys.modules without
waiting for it (`get_module("pandas", should_load=False)`), so a half-imported pandas
raised "partially initialized module 'pandas' has no attribute 'Series'" on the Train
page (seen in tests/browser/test_faults.py). The figures package imports pandas whole
before any figure code runs."""

import subprocess
import sys
import textwrap

# In a fresh interpreter: thread A starts importing pandas and is held inside it (pandas
# is then in sys.modules, without Series); thread B draws the Train page's epoch curves.
# B must wait for pandas, not fail. A is let go once B has either finished or is seen
# waiting on the import lock.
SCRIPT = textwrap.dedent(
    """
    import importlib.abc, importlib.machinery, sys, threading, time
    started, release = threading.Event(), threading.Event()

    class HoldPandas(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name != "pandas":
                return None
            sys.meta_path.remove(self)
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            real_exec = spec.loader.exec_module
            def exec_module(module):
                started.set()
                release.wait(60)
                real_exec(module)
            spec.loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, HoldPandas())
    threading.Thread(target=lambda: __import__("pandas"), daemon=True).start()
    started.wait(60)
    errors = []
    def draw():
        try:
            from classifier.figures.train import epoch_curves_figure
            rows = [{"epoch": 1, "loss": 0.5, "accuracy": 0.8, "test_accuracy": 0.8}]
            epoch_curves_figure(rows).to_dict()
        except Exception as error:
            errors.append(repr(error))
    drawer = threading.Thread(target=draw)
    drawer.start()
    def waiting_on_import():
        frame = sys._current_frames().get(drawer.ident)
        while frame is not None:
            if frame.f_code.co_name in ("acquire", "_lock_unlock_module"):
                return True
            frame = frame.f_back
        return False
    deadline = time.monotonic() + 60
    while drawer.is_alive() and not waiting_on_import() and time.monotonic() < deadline:
        time.sleep(0.01)
    release.set()
    drawer.join(60)
    print("ERRORS", errors)
    """
)


def test_a_figure_drawn_while_another_session_imports_pandas_waits_for_it():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=180
    )
    assert "ERRORS []" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
