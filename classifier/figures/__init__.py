"""Each page's plotly figures (`dataset`, `train`, `verify` with `mistakes`, `explore`,
`room`), the shared picture grid (`grid`) and the one palette (`style`: blue right, red
only wrong).
"""
