"""Clicks on a dot of a plotly chart in every drag mode.

Streamlit reports a chart's selection, but while the chart's drag mode is Box or Lasso it
turns plotly's "click selects" off, so a click on a dot reports nothing. This small handler
listens to plotly's own click event on one chart (found by its Streamlit key) and sends the
clicked dot's picture number (its customdata). It checks for the chart twice a second, so a
chart drawn again after a rerun is listened to as well, and stops when the page goes away.
"""

from __future__ import annotations

import streamlit as st

CLICKS_JS = """
export default function (component) {
  const { setTriggerValue, data } = component;
  const selector = `.st-key-${data.chart} .js-plotly-plot`;
  const attach = () => {
    const chart = document.querySelector(selector);
    if (!chart || !chart.on || chart.__studioClicks) return;
    chart.__studioClicks = true;
    chart.on("plotly_click", (event) => {
      const point = event && event.points && event.points.find(
        (p) => Number.isInteger(p.customdata) || Number.isInteger(p.customdata?.[0]));
      if (!point) return;
      const picture = Array.isArray(point.customdata) ? point.customdata[0] : point.customdata;
      setTriggerValue("clicked", picture);
    });
  };
  attach();
  const timer = setInterval(attach, 500);
  return () => clearInterval(timer);
}
"""

_handler = st.components.v2.component("studio_chart_clicks", js=CLICKS_JS)


def clicked_picture(chart_key: str, count: int) -> int | None:
    """The picture number of the dot just clicked on the chart `chart_key` (a key of ours,
    never user text), or None. A value that is not a picture number in 0..count-1 (a forged
    message) is None."""
    result = _handler(
        key=f"{chart_key}_clicks", data={"chart": chart_key}, height=0, on_clicked_change=_noop
    )
    value = result.get("clicked")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < count:
        return None
    return value


def _noop() -> None:
    """The click is read in `clicked_picture`; the change only needs a rerun."""
