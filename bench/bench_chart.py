"""bench_chart.py: draws the benchmark summary as an SVG: grouped bars per
workload, one bar per allocator; one panel for wall time and one for peak
RSS, both relative to glibc (1.0 = as glibc, lower is better)."""

import html

import bench_report

COLOURS = {"glibc": "#7f7f7f", "jemalloc": "#1f77b4", "mimalloc": "#2ca02c",
           "tcmalloc": "#ff7f0e", "libpoolmalloc": "#d62728", "unhardened": "#f4a3a3"}
PANEL_HEIGHT = 260
TOP = 56
LEFT = 60
GROUP_GAP = 30
BAR_WIDTH = 11
LEGEND_STEP = 105  # px from one legend entry to the next
RATIO_CAP = 3.0  # taller bars are clipped and labelled with their value


def panel(summary, field, title, top):
    workloads, allocators = summary["workloads"], summary["allocators"]
    group_width = BAR_WIDTH * len(allocators) + GROUP_GAP
    ratios = [bench_report.ratio(summary, w, a, "glibc", field)
              for w in workloads for a in allocators]
    ceiling = min(RATIO_CAP, max([1.5] + [r for r in ratios if r is not None]))

    def y_of(value):
        return top + PANEL_HEIGHT - PANEL_HEIGHT * min(value, ceiling) / ceiling

    parts = [f'<text x="{LEFT}" y="{top - 26}" font-size="14">'
             f'{html.escape(title)} relative to glibc (lower is better)</text>']
    step = 0.5 if ceiling <= 3 else 1.0
    tick = 0.0
    while tick <= ceiling + 1e-9:
        y = y_of(tick)
        colour = "#000" if abs(tick - 1.0) < 1e-9 else "#ddd"
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + group_width * len(workloads)}" '
                     f'y1="{y:.1f}" y2="{y:.1f}" stroke="{colour}"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="10" '
                     f'text-anchor="end">{tick:.1f}</text>')
        tick += step
    for wi, workload in enumerate(workloads):
        x0 = LEFT + wi * group_width + GROUP_GAP / 2
        for ai, allocator in enumerate(allocators):
            x = x0 + ai * BAR_WIDTH
            cell = summary["cells"].get((workload, allocator), {})
            value = bench_report.ratio(summary, workload, allocator, "glibc", field)
            if cell.get("status") == "FAIL" or value is None:
                # x: this allocator failed; ?: glibc did, so there is no ratio.
                mark = "x" if cell.get("status") == "FAIL" or not cell else "?"
                parts.append(f'<text x="{x + BAR_WIDTH / 2:.1f}" y="{y_of(0) - 3:.1f}" '
                             f'font-size="9" text-anchor="middle" fill="{COLOURS[allocator]}">'
                             f'{mark}</text>')
                continue
            y = y_of(value)
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{BAR_WIDTH - 1}" '
                         f'height="{y_of(0) - y:.1f}" fill="{COLOURS[allocator]}">'
                         f'<title>{workload} {allocator}: {value:.2f}</title></rect>')
            if value > ceiling:
                # Staggered so the labels of neighbouring bars do not collide.
                label_y = y - 3 - 9 * (ai % 2)
                parts.append(f'<text x="{x + BAR_WIDTH / 2:.1f}" y="{label_y:.1f}" '
                             f'font-size="8" text-anchor="middle">{value:.1f}</text>')
        parts.append(f'<text x="{x0 + BAR_WIDTH * len(allocators) / 2:.1f}" '
                     f'y="{top + PANEL_HEIGHT + 14}" font-size="10" text-anchor="middle">'
                     f'{html.escape(workload)}</text>')
    return parts


def write_svg(path, summary):
    allocators = summary["allocators"]
    glibc_note = ("" if "glibc" in allocators else
                  "; glibc was not run, so there are no ratios to draw")
    footnote = (f'x = the workload failed under that allocator; ? = it failed under glibc'
                f'{glibc_note}; median of {summary["runs"]} run(s)')
    group_width = BAR_WIDTH * len(allocators) + GROUP_GAP
    # Wide enough for the bars, the legend and the footnote (about 6.5 px a
    # character at 11 px): with one workload the legend and notes were cut.
    width = max(LEFT + group_width * len(summary["workloads"]),
                LEFT + LEGEND_STEP * len(allocators),
                LEFT + int(len(footnote) * 6.5)) + 20
    height = 2 * (PANEL_HEIGHT + TOP + 30) + 50
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif">',
             f'<rect width="{width}" height="{height}" fill="#fff"/>']
    parts += panel(summary, "wall_s", "Wall time", TOP)
    parts += panel(summary, "peak_rss_kb", "Peak RSS", 2 * TOP + PANEL_HEIGHT + 30)
    legend_y = height - 30
    for ai, allocator in enumerate(allocators):
        x = LEFT + ai * LEGEND_STEP
        parts.append(f'<rect x="{x}" y="{legend_y - 9}" width="10" height="10" '
                     f'fill="{COLOURS[allocator]}"/>')
        parts.append(f'<text x="{x + 14}" y="{legend_y}" font-size="11">{allocator}</text>')
    parts.append(f'<text x="{LEFT}" y="{legend_y + 18}" font-size="11">{footnote}</text>')
    parts.append("</svg>")
    with open(path, "w") as out:
        out.write("\n".join(parts) + "\n")
