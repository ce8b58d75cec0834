"""The Streamlit glue shared by the pages: the only Streamlit code besides `pages/`.

Everything here is thin; the logic lives in the plain-Python package `classifier`. One
module a job: `routing`, `access` (presenter role), `cache`, `widgets`, `pictures`,
`run_widgets`, `watch` (a live run and the quick demo) and `explore`.
"""
