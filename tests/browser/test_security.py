"""Ready for a room full of people, against the live server in Chromium: size limits and XSRF
enforced by the server itself, no other origin allowed, user text rendered as text. (The
settings and the paths, without a server: tests/unit/test_security.py.)"""

from __future__ import annotations

import time
import urllib.request

from classifier.ml.models import preset_config
from classifier.store.runs import COMPLETED, RunStore
from classifier.views.text import run_labels
from tests.support.browser import open_page
from tests.support.runs import oversize_png, shirt_png

UPLOAD = "/_stcore/upload_file/"
# Every picture on the page has loaded or failed: an injected onerror would have run (the
# error event is fired in the same task that marks a broken picture complete).
PICTURES_SETTLED = "() => [...document.images].every(image => image.complete)"


def test_the_live_server_refuses_oversize_uploads_and_forged_requests(verify_server, page):
    """The browser enforces maxUploadSize on its side; the server must refuse by itself a
    request that skips the browser: too large (413), or without the XSRF token (403)."""
    open_page(page, f"{verify_server.url}/verify")
    uploader = page.locator("[data-testid='stFileUploaderDropzoneInput']")
    uploader.wait_for(state="attached", timeout=60_000)
    with page.expect_request(
        lambda request: request.method == "PUT" and UPLOAD in request.url, timeout=30_000
    ) as upload:
        uploader.set_input_files(
            files=[{"name": "shirt.png", "mimeType": "image/png", "buffer": shirt_png()}]
        )
    url = upload.value.url
    token = upload.value.all_headers().get("x-xsrftoken")
    assert token, "the upload carried no XSRF token: is enableXsrfProtection off?"

    def put(data: bytes, headers: dict) -> int:
        file = {"name": "big.png", "mimeType": "image/png", "buffer": data}
        reply = page.request.put(url, multipart={"file": file}, headers=headers)
        return reply.status

    assert put(shirt_png(), {"X-Xsrftoken": token}) in (200, 204)  # the replay itself works
    assert put(oversize_png(), {"X-Xsrftoken": token}) == 413
    assert put(shirt_png(), {}) == 403  # no token: a forged cross-site request
    assert put(shirt_png(), {"X-Xsrftoken": "forged"}) == 403


def test_the_live_server_does_not_allow_other_origins(app_server):
    request = urllib.request.Request(
        f"{app_server.url}/_stcore/health", headers={"Origin": "http://evil.example"}
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        allowed = reply.headers.get("Access-Control-Allow-Origin")
    assert allowed not in ("*", "http://evil.example"), allowed


# --- User text is text -----------------------------------------------------------------------

HTML_NAME = "<img src=x onerror=alert(1)>"
MARKDOWN_NAME = "**bold** [link](http://example.com) www.example.org me@example.org"

# A heading starts with exactly the name (escaping may add invisible word joiners).
SHOWN_AS_HEADING = """name => [...document.querySelectorAll('h4')]
    .some(h => h.innerText.replace(/\\u2060/g, '').trim().startsWith(name + ' · '))"""


def test_run_names_are_shown_as_text_never_as_html_or_markdown(app_server, page):
    store = RunStore(app_server.runs_dir)
    run_ids = []
    for name in (HTML_NAME, MARKDOWN_NAME):  # the second is the newest: shown first
        writer = store.create_run(preset_config("Tutorial MLP", epochs=1).to_dict(), name=name)
        writer.write_status(status=COMPLETED, finished_at=time.time(), test_accuracy=0.5)
        writer.release()
        run_ids.append(writer.run_id)
        time.sleep(0.01)  # distinct start times: the newest is shown first
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        for run_id, name in zip(run_ids, (HTML_NAME, MARKDOWN_NAME), strict=True):
            open_page(page, f"{app_server.url}/train?run={run_id}")  # a link shows this run
            page.wait_for_function(SHOWN_AS_HEADING, arg=name, timeout=30_000)
        page.get_by_role("combobox", name="Show run").click()  # every label, as text
        labels = run_labels(store.list_runs())
        for run_id in run_ids:
            label = labels[run_id]
            assert page.get_by_role("option", name=label, exact=True).count() == 1, label
        page.wait_for_function(PICTURES_SETTLED, timeout=30_000)  # an onerror would have run

        # What a reader sees; escaping may add invisible word joiners that stop autolinks.
        body = page.inner_text("body").replace("\u2060", "")
        assert HTML_NAME in body and MARKDOWN_NAME in body
        assert page.locator('img[src="x"]').count() == 0
        assert page.locator('a[href*="example."]').count() == 0  # no link, not even autolinked
        assert page.locator("strong", has_text="bold").count() == 0
        assert dialogs == []
    finally:
        for run_id in run_ids:
            store.delete(run_id)


LINK_NAME = '<a href="https://evil.example/p">Click <b>here</b></a>'


def test_a_run_name_in_the_compare_chart_is_text_not_a_link(app_server, page):
    """Plotly renders some HTML in trace names: the legend showed a live link."""
    store = RunStore(app_server.runs_dir)
    writer = store.create_run(preset_config("Tutorial MLP", epochs=1).to_dict(), name=LINK_NAME)
    (writer.path / "metrics.jsonl").write_text('{"epoch": 1, "accuracy": 0.8, "loss": 0.5}\n')
    writer.write_status(status=COMPLETED, finished_at=time.time(), test_accuracy=0.8)
    writer.release()
    try:
        open_page(page, f"{app_server.url}/train")
        page.get_by_role("combobox", name="Compare runs").click()
        page.keyboard.type("evil.example")
        page.keyboard.press("Enter")
        page.keyboard.press("Escape")
        legend = page.locator(".js-plotly-plot .legendtext", has_text="evil.example").first
        legend.wait_for(timeout=30_000)
        assert "<a href" in legend.text_content()  # shown literally
        assert page.locator('.js-plotly-plot a[href*="evil"]').count() == 0
        assert page.locator(".js-plotly-plot b", has_text="here").count() == 0
    finally:
        store.delete(writer.run_id)
