"""The store: every file the app, a worker or the command line keeps, and how it is read.

`runs` (RunInfo, RunStore, RunWriter: one folder per training run), `files` (atomic writes,
no-follow bounded reads, the one JSON and .npy reader, locks and flag files), `records`
(typing untrusted values, one-line errors), `history` (what a model predicted epoch by
epoch), `reviews` (decisions on suspicious labels), `rooms` (the room's game, in SQLite).
No TensorFlow here except inside `RunStore.load_model`.
"""
