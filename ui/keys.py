"""Keys and presentation clickers: one small key handler for the pages a room watches.

A clicker sends PageDown/PageUp (some send the arrow keys or Space). The handler listens on
the whole document in the capture phase, so a focused toggle, slider or button cannot
swallow a key press, and it stops listening when its page or mode goes away (so a key
never acts on a page that is not shown). It counts presses instead of sending one event
each: five quick presses are five steps, even when they arrive while the page is still
rerunning (Streamlit merges events that arrive during a rerun). The counts live in the
browser window, so they only ever grow while the page is open; `steps` turns them into the
moves since the last rerun.
"""

from __future__ import annotations

import streamlit as st

KEYS_JS = """
export default function (component) {
  const { setStateValue } = component;
  const NEXT = new Set(["ArrowRight", "PageDown", " "]);
  const PREVIOUS = new Set(["ArrowLeft", "PageUp"]);
  const keys = (window.__studioKeys ??= { next: 0, previous: 0, send: null, installed: false });
  keys.send = setStateValue;
  const typing = (target) => {
    const tag = target && target.tagName;
    if (tag === "TEXTAREA" || (target && target.isContentEditable)) return true;
    if (tag !== "INPUT") return false;
    return !["checkbox", "radio", "range", "button", "submit"].includes(target.type);
  };
  if (!keys.installed) {
    keys.installed = true;
    document.addEventListener("keydown", (event) => {
      if (!keys.send || event.altKey || event.ctrlKey || event.metaKey) return;
      if (typing(event.target)) return;
      const which = NEXT.has(event.key) ? "next" : PREVIOUS.has(event.key) ? "previous" : null;
      if (!which) return;
      event.preventDefault();
      event.stopPropagation();
      keys[which] += 1;
      keys.send("presses", { next: keys.next, previous: keys.previous });
    }, true);
  }
  return () => { if (keys.send === setStateValue) keys.send = null; };
}
"""

_handler = st.components.v2.component("studio_keys", js=KEYS_JS)


def moves_since(seen: dict | None, presses: dict | None) -> tuple[int, dict]:
    """(net steps forward, the counts to remember) from the browser's press counts and the
    counts seen at the last rerun. Counts only grow within a page; anything odd (a forged
    message, a reloaded page) moves nothing."""
    last = seen or {"next": 0, "previous": 0}
    if not isinstance(presses, dict):
        return 0, last  # no press yet (or the handler was just mounted again)
    counts = {}
    for name in ("next", "previous"):
        value = presses.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 10**9:
            return 0, last  # not what the handler sends: ignored
        counts[name] = value
    if counts["next"] < last["next"] or counts["previous"] < last["previous"]:
        return 0, counts  # a new page: start counting again
    return (counts["next"] - last["next"]) - (counts["previous"] - last["previous"]), counts


def key_steps(key: str) -> int:
    """The net number of pictures the presenter's keys moved since the last rerun (may be
    negative). Draw it once on a page where Next/Previous keys should work."""
    result = _handler(key=key, default={"presses": None}, height=0, on_presses_change=_noop)
    seen_key = f"{key}_seen"
    steps, seen = moves_since(st.session_state.get(seen_key), result.get("presses"))
    st.session_state[seen_key] = seen
    return steps


def _noop() -> None:
    """The handler's state is read in `key_steps`; the change only needs a rerun."""
