"""The figures of "Let the room play": the QR code phones scan, and the room's votes as ten
bars beside the model's ten bars, in the model's bar style (grey, the answer red, the truth
blue: classifier.figures.verify.bar_colors)."""

from __future__ import annotations

import io

import numpy as np
import plotly.graph_objects as go
import segno
from plotly.subplots import make_subplots

from classifier.data import CLASS_NAMES
from classifier.figures.style import BACKGROUND_COLOR, GRID_COLOR
from classifier.figures.verify import bar_colors

QR_SCALE = 10  # pixels per module: a version-3 code is 330 px with its border
QR_BORDER = 2  # modules of quiet zone (white) around the code


def qr_png(address: str, size_px: int | None = None) -> bytes:
    """The address as a QR code (PNG, black on white, a two-module quiet zone), at most
    `size_px` wide in whole pixels per module (sharp edges), or QR_SCALE per module."""
    code = segno.make(address, error="m")
    scale = QR_SCALE
    if size_px is not None:
        scale = max(3, size_px // code.symbol_size(scale=1, border=QR_BORDER)[0])
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=scale, border=QR_BORDER)
    return buffer.getvalue()


def qr_svg(address: str, scale: int = QR_SCALE) -> str:
    """The same QR code as SVG text."""
    buffer = io.BytesIO()
    segno.make(address, error="m").save(buffer, kind="svg", scale=scale, border=QR_BORDER)
    return buffer.getvalue().decode("utf-8")


def room_bars_figure(
    counts, probabilities, true_label: int, font_size: int = 18, height: int = 380
) -> go.Figure:
    """Two panels of ten bars: the room's share of votes per class, and the model's
    probabilities; each with its answer red and the truth blue (one blue bar: right)."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    shares = counts / total if total else counts
    probabilities = np.asarray(probabilities, dtype=np.float64)
    votes = f"{int(total):,} vote{'s' if total != 1 else ''}"
    figure = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        horizontal_spacing=0.04,
        subplot_titles=(f"The room ({votes})", "The model"),
    )
    room_colors = bar_colors(shares, true_label) if total else ["#777777"] * len(shares)
    panels = (
        (shares, room_colors, [f"{int(c)}" if c else "" for c in counts], "votes"),
        (probabilities, bar_colors(probabilities, true_label), None, "probability"),
    )
    for column, (values, colors, text, word) in enumerate(panels, start=1):
        figure.add_trace(
            go.Bar(
                x=list(CLASS_NAMES),
                y=values,
                marker_color=colors,
                text=text,
                textposition="outside",
                textfont={"size": font_size - 4},
                cliponaxis=False,
                hovertemplate=f"%{{x}}: %{{y:.0%}} ({word})<extra></extra>",
                showlegend=False,
            ),
            row=1,
            col=column,
        )
    figure.update_yaxes(
        range=[0, 1.08],
        tickformat=".0%",
        tickfont={"size": font_size - 4},
        gridcolor=GRID_COLOR,
        fixedrange=True,
    )
    figure.update_xaxes(tickangle=-55, tickfont={"size": font_size - 2}, fixedrange=True)
    figure.update_annotations(font_size=font_size)
    figure.update_layout(
        height=height,
        margin={"l": 50, "r": 10, "t": 40, "b": 10},
        plot_bgcolor=BACKGROUND_COLOR,
        bargap=0.25,
        dragmode=False,
    )
    return figure
