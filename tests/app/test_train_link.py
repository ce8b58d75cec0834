"""'Train again with these settings' on the Train page, in AppTest: a finished run offers a
link that carries exactly its settings, and the link opens the page with them. (The link's
parameters themselves: tests/unit/test_train_link.py.)"""

from __future__ import annotations

from urllib.parse import parse_qsl

from classifier.store.runs import COMPLETED, RunStore
from classifier.views.train import AGAIN_LABEL, settings_params
from tests.support.apptest import open_app_page
from tests.support.links import CONFIG


def test_the_link_opens_the_train_page_with_those_settings(runs_root):
    writer = RunStore(runs_root).create_run(CONFIG.to_dict(), "to repeat")
    writer.write_status(status=COMPLETED, test_accuracy=0.9, epochs_done=7)
    writer.release()
    app = open_app_page("pages/train.py")
    (link,) = [link for link in app.get("page_link") if link.proto.label == AGAIN_LABEL]
    assert link.proto.page == "train"  # the Train page itself
    # Exactly the run's settings: every one of them, its preset first, nothing else.
    assert parse_qsl(link.proto.query_string, strict_parsing=True) == list(
        settings_params(CONFIG).items()
    )

    fresh = open_app_page("pages/train.py", query=settings_params(CONFIG))
    assert fresh.selectbox(key="train_preset").value == "Small CNN"
    assert fresh.slider(key="train_epochs").value == 7
    assert fresh.select_slider(key="train_batch_size").value == 64
    assert fresh.selectbox(key="train_optimizer").value == "sgd"
