"""Run labels on the Train page, in AppTest: two runs with the same name are two options, and
"Delete" removes the one chosen (it removed the other). (The labels themselves:
tests/unit/test_run_labels.py.)"""

from __future__ import annotations

import time

from classifier.store.runs import RunStore
from tests.support.apptest import open_app_page
from tests.support.runs import completed_run


def test_deleting_the_first_of_two_runs_with_the_same_name_deletes_that_run(runs_root):
    store = RunStore(runs_root)
    first = completed_run(store, "Quick MLP")
    time.sleep(0.01)
    second = completed_run(store, "Quick MLP")
    app = open_app_page("pages/train.py")
    picker = app.selectbox(key="train_delete_run")
    assert len(set(picker.options)) == 2  # two options, not one
    picker.set_value(first).run()
    app.checkbox(key="train_delete_confirm").check().run()
    app.button(key="train_delete").click().run()
    assert not app.exception
    assert {info.run_id for info in store.list_runs()} == {second}
