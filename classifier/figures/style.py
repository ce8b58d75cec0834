"""One palette and one set of font sizes for every figure of the app.

The tutorial's colours: blue for a right prediction, red for a wrong one. Red means
"wrong" and nothing else, in every chart.
"""

RIGHT_COLOR = "#1f77b4"  # the tutorial's (matplotlib's) "blue"
WRONG_COLOR = "#d62728"  # the tutorial's "red"
OTHER_COLOR = "#777777"  # the tutorial's grey bars
# Neither right nor wrong: an upload's predicted bar (no true class), the selected tile.
UNKNOWN_COLOR = "#ff7f0e"
HIGHLIGHT_COLOR = "#ff7f0e"
VALIDATION_COLOR = "#ff7f0e"
TEST_COLOR = "#2ca02c"  # the test pictures' curve, next to training (blue) and validation
TEXT_COLOR = "#1b1f24"
GRID_COLOR = "#e5e5e5"
HISTOGRAM_COLOR = "#5b6770"
BACKGROUND_COLOR = "#ffffff"
BAR_PANEL_GREY = 244  # the light panel behind each cell's bars in a prediction grid

# The colours of runs shown together: category10 without red, since red only ever means
# "wrong".
RUN_COLORS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
    "#17becf",
)  # fmt: skip


RUN_DASHES = ("solid", "dash", "dot", "dashdot")  # two runs with equal curves stay apart


def run_styles(run_ids) -> dict[str, tuple[str, str]]:
    """(colour, dash) of each run shown together: distinct colours for up to nine runs,
    given in the order of the run ids (so the order the runs were picked in does not
    matter), and a dash pattern that tells apart runs whose curves lie on top of each
    other."""
    ordered = sorted(set(run_ids))
    return {
        run_id: (RUN_COLORS[i % len(RUN_COLORS)], RUN_DASHES[i % len(RUN_DASHES)])
        for i, run_id in enumerate(ordered)
    }


FONT_FAMILY = "sans-serif"
# Captions under pictures: the largest size at which the longest caption fits its cell,
# within these bounds. AVERAGE_CHAR_WIDTH estimates a sans-serif text's width.
MIN_FONT_SIZE, MAX_FONT_SIZE = 9, 13
AVERAGE_CHAR_WIDTH = 0.58  # times the font size
CAPTION_LINE_HEIGHT = 1.3  # times the font size
LABEL_FONT_SIZE = 13  # the label under a single picture
TICK_FONT_SIZE = 10
SMALL_FONT_SIZE = 11  # counts in the confusion matrix, chart notes

# plt.imshow's default colour map, as in the tutorial's first figure with its colour bar.
PIXEL_COLORSCALE = "Viridis"
# The tutorial's `cmap=plt.cm.binary`: 0 is white and 1 is black, dark clothes on white.
BINARY_COLORSCALE = [[0.0, "#ffffff"], [1.0, "#000000"]]
