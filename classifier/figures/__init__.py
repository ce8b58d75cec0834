"""Each page's plotly figures (`dataset`, `train`, `verify`, `explore`, `room`), the
shared picture grid (`grid`) and the one palette (`style`: blue right, red only wrong).
"""
