"""In-browser checks of a page's layout (run with `page.evaluate`): chart texts that overlap
or stick out of their chart, and widget labels or button texts cut off."""

# Pairs of texts in one chart that overlap by more than a sliver, and texts that stick out
# of their chart: what a reader sees as clashing or clipped labels. A text's box is its
# own (unrotated) bounding box carried to the screen by its transform, so rotated tick
# labels are compared as the slanted boxes they are (separating axis test).
CHART_PROBLEMS = """() => {
  const corners = t => {
    const box = t.getBBox(), m = t.getScreenCTM();
    return [[box.x, box.y], [box.x + box.width, box.y], [box.x + box.width, box.y + box.height],
            [box.x, box.y + box.height]].map(([x, y]) => [m.a * x + m.c * y + m.e,
                                                         m.b * x + m.d * y + m.f]);
  };
  const separated = (p, q) => {
    for (const poly of [p, q]) for (let i = 0; i < 4; i++) {
      const [x1, y1] = poly[i], [x2, y2] = poly[(i + 1) % 4];
      const nx = y2 - y1, ny = x1 - x2, length = Math.hypot(nx, ny) || 1;
      const project = r => r.map(([x, y]) => (x * nx + y * ny) / length);
      const a = project(p), b = project(q);
      if (Math.min(...a) > Math.max(...b) - 2 || Math.min(...b) > Math.max(...a) - 2) return true;
    }
    return false;
  };
  const problems = [];
  for (const chart of document.querySelectorAll('.js-plotly-plot')) {
    const frame = chart.getBoundingClientRect();
    if (frame.width === 0) continue;
    const texts = [...chart.querySelectorAll('text')]
      .filter(t => t.textContent.trim() && getComputedStyle(t).opacity !== '0')
      .filter(t => { const b = t.getBoundingClientRect(); return b.width > 0 && b.height > 0; })
      .map(t => [t.textContent.trim(), corners(t), t.getBoundingClientRect()]);
    for (const [text, , b] of texts)
      if (b.left < frame.left - 2 || b.right > frame.right + 2) problems.push(`cut off: "${text}"`);
    for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++)
      if (!separated(texts[i][1], texts[j][1]))
        problems.push(`overlap: "${texts[i][0]}" / "${texts[j][0]}"`);
  }
  return problems;
}"""
CUT_LABELS = """() => [...document.querySelectorAll(
    '[data-testid="stWidgetLabel"] p, [data-testid="stBaseButton-secondary"] p, '
    + '[data-testid="stBaseButton-primary"] p, [data-testid="stSelectbox"] [value], '
    + '[data-testid^="stBaseButton"] .stMarkdownEllipsis, '
    + '[data-baseweb="select"] div[title], '
    + '[data-testid="stDownloadButton"] [data-testid="stMarkdownContainer"], '
    + '[data-testid="stPageLink"] p')]
  .filter(e => e.offsetWidth > 0 && e.scrollWidth > e.clientWidth + 1)
  .map(e => e.value || e.textContent.trim() || e.getAttribute('title'))"""


# Where the page's first element starts, in pixels from the top of the page (its own
# layout's elements only; the vertical blocks that hold them start where it does).
FIRST_ELEMENT_TOP = """() => {
  const main = document.querySelector('[data-testid="stMainBlockContainer"]');
  const tops = [...main.querySelectorAll('[data-testid]')]
    .filter(e => e.getAttribute('data-testid') !== 'stVerticalBlock')
    .filter(e => e.getBoundingClientRect().height > 0)
    .map(e => e.getBoundingClientRect().top + window.scrollY);
  return tops.length ? Math.min(...tops) : null;
}"""

# Where Streamlit's header bar (the menu button; on Present the sidebar's arrow) ends: a page
# that starts above it has its first element cut off under it.
HEADER_BOTTOM = """() => {
  const header = document.querySelector('[data-testid="stHeader"]');
  return header ? header.getBoundingClientRect().bottom : 0;
}"""
