"""Charts as server-rendered SVG (no script, no CDN): stacked bars, a per-day line with windows, bars."""

from __future__ import annotations

from datetime import date, timedelta

from markupsafe import Markup, escape

PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
    "#2f4b7c",
    "#a05195",
)
FONT = 'font-family="Noto Sans CJK SC, sans-serif" font-size="12"'


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        + "".join(body)
        + "</svg>"
    )


def stacked_bars(
    title: str, rows: list[tuple[str, dict[str, int]]], columns: list[tuple[str, str]]
) -> Markup:
    """One horizontal bar per row, stacked by column, with a legend."""
    label_w, bar_w, row_h = 220, 520, 26
    legend_h = 22 * ((len(columns) + 3) // 4)
    height = 30 + row_h * max(len(rows), 1) + legend_h + 10
    biggest = max((sum(cells.values()) for _, cells in rows), default=0) or 1
    body = [f'<text x="0" y="16" {FONT} font-weight="bold">{escape(title)}</text>']
    for i, (label, cells) in enumerate(rows):
        y = 30 + i * row_h
        body.append(f'<text x="0" y="{y + 16}" {FONT}>{escape(label[:16])}</text>')
        x = label_w
        for j, (key, col_label) in enumerate(columns):
            n = cells.get(key, 0)
            if not n:
                continue
            w = bar_w * n / biggest
            body.append(
                f'<rect class="bar" data-column="{escape(key)}" data-value="{n}" x="{x:.1f}" y="{y + 4}" '
                f'width="{w:.1f}" height="{row_h - 8}" fill="{PALETTE[j % len(PALETTE)]}">'
                f"<title>{escape(label)} · {escape(col_label)}：{n}</title></rect>"
            )
            x += w
        body.append(f'<text x="{x + 4:.1f}" y="{y + 16}" {FONT}>{sum(cells.values())}</text>')
    top = 30 + row_h * max(len(rows), 1) + 8
    for j, (_, col_label) in enumerate(columns):
        lx, ly = (j % 4) * 190, top + 22 * (j // 4)
        body.append(f'<rect x="{lx}" y="{ly}" width="12" height="12" fill="{PALETTE[j % len(PALETTE)]}"/>')
        body.append(f'<text x="{lx + 16}" y="{ly + 11}" {FONT}>{escape(col_label)}</text>')
    return _svg(label_w + bar_w + 60, height, title, body)


def bars(title: str, rows: list[tuple[str, int]]) -> Markup:
    """Horizontal bars, one per row."""
    label_w, bar_w, row_h = 220, 480, 26
    height = 30 + row_h * max(len(rows), 1) + 10
    biggest = max((n for _, n in rows), default=0) or 1
    body = [f'<text x="0" y="16" {FONT} font-weight="bold">{escape(title)}</text>']
    if not rows:
        body.append(f'<text x="0" y="46" {FONT}>暂无数据</text>')
    for i, (label, n) in enumerate(rows):
        y = 30 + i * row_h
        w = bar_w * n / biggest
        body.append(f'<text x="0" y="{y + 16}" {FONT}>{escape(label[:16])}</text>')
        body.append(
            f'<rect class="bar" data-value="{n}" x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" '
            f'fill="{PALETTE[3]}"><title>{escape(label)}：{n}</title></rect>'
        )
        body.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 16}" {FONT}>{n}</text>')
    return _svg(label_w + bar_w + 60, height, title, body)


def day_lines(
    title: str,
    series: list[tuple[str, dict[date, int]]],
    windows: list[tuple[str, date, date]],
) -> Markup:
    """Lines of counts per day over the span of the windows and the data, windows shaded behind them."""
    days = {d for _, values in series for d in values} | {d for _, a, b in windows for d in (a, b)}
    width, height, left, top, plot_h = 760, 300, 40, 30, 190
    body = [f'<text x="0" y="16" {FONT} font-weight="bold">{escape(title)}</text>']
    if not days:
        body.append(f'<text x="0" y="46" {FONT}>暂无数据</text>')
        return _svg(width, 60, title, body)
    first, last = min(days), max(days)
    span = max((last - first).days, 1)
    plot_w = width - left - 20
    biggest = max((n for _, values in series for n in values.values()), default=0) or 1

    def x(d: date) -> float:
        return left + plot_w * (d - first).days / span

    def y(n: int) -> float:
        return top + plot_h - plot_h * n / biggest

    for i, (label, a, b) in enumerate(windows):
        body.append(
            f'<rect class="window" x="{x(a):.1f}" y="{top}" width="{max(x(b) - x(a), 2):.1f}" height="{plot_h}" '
            f'fill="{PALETTE[(i + 4) % len(PALETTE)]}" fill-opacity="0.15"><title>{escape(label)}：'
            f"{a.month}月{a.day}日—{b.month}月{b.day}日</title></rect>"
        )
        body.append(
            f'<text x="{x(a) + 2:.1f}" y="{top + 12 + 14 * i}" {FONT} fill="#555">{escape(label)}</text>'
        )
    body.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#333"/>'
    )
    body.append(f'<text x="{left - 4}" y="{top + 10}" {FONT} text-anchor="end">{biggest}</text>')
    body.append(f'<text x="{left - 4}" y="{top + plot_h}" {FONT} text-anchor="end">0</text>')
    step = max(span // 8, 1)
    d = first
    while d <= last:
        body.append(
            f'<text x="{x(d):.1f}" y="{top + plot_h + 16}" {FONT} text-anchor="middle">{d.month}-{d.day}</text>'
        )
        d += timedelta(days=step)
    for i, (label, values) in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        points = []
        d = first
        while d <= last:
            points.append(f"{x(d):.1f},{y(values.get(d, 0)):.1f}")
            d += timedelta(days=1)
        body.append(
            f'<polyline class="line" data-series="{escape(label)}" data-total="{sum(values.values())}" '
            f'fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(points)}"/>'
        )
        ly = top + plot_h + 30 + 0
        body.append(f'<rect x="{left + 160 * i}" y="{ly + 8}" width="12" height="12" fill="{colour}"/>')
        body.append(
            f'<text x="{left + 160 * i + 16}" y="{ly + 19}" {FONT}>{escape(label)}（共{sum(values.values())}）</text>'
        )
    return _svg(width, height, title, body)
