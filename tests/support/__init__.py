"""The shared test harness: what tests of every layer, and bench/, use to reach the app.

- `paths`: `ROOT` (the project folder) and `APP` (app.py, the router every test starts from);
- `polling`: `wait_until` (poll a condition) and `process_gone`;
- `server`: `AppServer`, a `streamlit run app.py` on a free loopback port;
- `browser`: the Chromium launch flags, `new_page`, `open_page`, `wait_for_app` and the
  other Playwright helpers;
- `apptest`: opening a page in Streamlit's AppTest, and reading the charts it sent;
- `runs`: runs written into a store the way the app writes them (trained, finished,
  damaged), and pictures to upload;
- `live`: a live run without training (its lock held here), and the live grid's captions;
- `links`: link parameters as hypothesis strategies;
- `layout`: the in-browser checks for overlapping or cut-off labels.

Plain modules, no fixtures: the fixtures live in the conftest.py files and use these. Nothing
here imports pytest, so bench/ can import it too.
"""

from tests.support.paths import APP, ROOT
from tests.support.polling import process_gone, wait_until

__all__ = ["APP", "ROOT", "process_gone", "wait_until"]
