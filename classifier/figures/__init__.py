"""Each page's plotly figures (`dataset`, `train`, `verify` with `mistakes`, `explore`,
`room`), the shared picture grid (`grid`) and the one palette (`style`: blue right, red
only wrong).
"""

# Plotly reads pandas from sys.modules without waiting for an import under way in another
# thread, so while one session's script imports pandas another's figure failed ("partially
# initialized module 'pandas'"). Importing it here, before any figure module, makes every
# thread wait until pandas is whole (tests/unit/test_figure_imports.py).
import pandas  # noqa: F401
