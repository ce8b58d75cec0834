"""The app as a whole in Chromium: the router, and deep links on a fresh server."""

from tests.support.browser import assert_no_exception, open_page
from tests.support.server import AppServer


def test_deep_link_on_a_fresh_server_goes_through_the_router(tmp_path, page):
    # The first request after start-up is a page URL, not "/": Streamlit's old pages/ mode
    # would run the page without app.py (no title, a raw file list as navigation).
    with AppServer(tmp_path / "runs", tmp_path / "streamlit.log") as server:
        open_page(page, f"{server.url}/train")
        navigation = page.get_by_test_id("stSidebarNav")
        navigation.get_by_text("Home", exact=True).wait_for()
        assert "Home" in navigation.inner_text() and "app" not in navigation.inner_text()
        assert page.title() == "Fashion-MNIST Studio"
        assert page.locator("h1").first.inner_text() == "Train a model"
        assert_no_exception(page)


def test_home_links_to_every_page(app_server, page):
    for label, heading in [
        ("Open the Dataset page", "The Fashion-MNIST dataset"),
        ("Open the Train page", "Train a model"),
        ("Open the Verify page", "Verify"),
    ]:
        open_page(page, app_server.url)
        page.get_by_role("link", name=label).click()
        page.locator("h1", has_text=heading).first.wait_for()
        assert_no_exception(page)
