"""Each page's state in plain Python: its session-state keys, filters, links and the
sentences it shows (`dataset`, `train`, `verify`, `explore`, `present`, `room`), plus what
several pages share (`grid` for picture grids, `text` for user text and run labels).
"""
