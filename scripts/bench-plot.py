#!/usr/bin/env python3
"""Plot the memslot deletion benchmark of a 'make bench' run as an SVG.

usage: bench-plot.py BENCH_MD OUT_SVG

Reads the rows of memslot_delete_perf_test's table in BENCH_MD
("| VM | MiB mapped | delete (ms) | next pass (ms) | ... |") and draws
two panels against the mapped size (log scale): the time to delete the 2MiB
memslot, and the time of the guest's next pass over its memory.  Needs only
the Python standard library.  Exits 0 without writing anything when the
table is not there.
"""
import math
import re
import sys

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]


def read_rows(path):
    series = {}
    row = re.compile(r"^\| (.+?) \| (\d+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|$")
    with open(path) as f:
        for line in f:
            m = row.match(line.strip())
            if m:
                name, mib, dele, nxt = m.group(1), int(m.group(2)), float(m.group(3)), float(m.group(4))
                series.setdefault(name, []).append((mib, dele, nxt))
    return series


def panel(out, x0, title, series, col, width, height):
    xs = sorted({p[0] for pts in series.values() for p in pts})
    ymax = max(p[col] for pts in series.values() for p in pts) * 1.1 or 1
    lx0, lx1 = math.log2(xs[0]), math.log2(xs[-1]) if len(xs) > 1 else math.log2(xs[0]) + 1
    left, top, w, h = x0 + 60, 40, width - 80, height - 110

    def px(x):
        return left + (math.log2(x) - lx0) / ((lx1 - lx0) or 1) * w

    def py(y):
        return top + h - y / ymax * h

    out.append(f'<text x="{left + w / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>')
    out.append(f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="black"/>')
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="black"/>')
    for x in xs:
        out.append(f'<text x="{px(x)}" y="{top + h + 16}" text-anchor="middle" font-size="11">{x}</text>')
    out.append(f'<text x="{left + w / 2}" y="{top + h + 32}" text-anchor="middle" font-size="11">mapped memory (MiB)</text>')
    for i in range(5):
        y = ymax * i / 4
        out.append(f'<text x="{left - 6}" y="{py(y) + 4}" text-anchor="end" font-size="11">{y:.0f}</text>')
    out.append(f'<text x="{x0 + 14}" y="{top + h / 2}" font-size="11" transform="rotate(-90 {x0 + 14} {top + h / 2})" text-anchor="middle">ms</text>')
    for i, (name, pts) in enumerate(sorted(series.items())):
        color = COLORS[i % len(COLORS)]
        pts = sorted(pts)
        path = " ".join(f"{px(p[0]):.1f},{py(p[col]):.1f}" for p in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for p in pts:
            out.append(f'<circle cx="{px(p[0]):.1f}" cy="{py(p[col]):.1f}" r="3" fill="{color}"/>')


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    series = read_rows(sys.argv[1])
    if not series:
        return
    width, height = 460, 330
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * width}" height="{height + 20 * len(series)}" font-family="sans-serif">',
           f'<rect width="100%" height="100%" fill="white"/>']
    panel(out, 0, "delete a 2MiB memslot", series, 1, width, height)
    panel(out, width, "guest pass after the deletion", series, 2, width, height)
    for i, name in enumerate(sorted(series)):
        y = height - 10 + 20 * i
        out.append(f'<rect x="60" y="{y - 9}" width="12" height="12" fill="{COLORS[i % len(COLORS)]}"/>')
        out.append(f'<text x="80" y="{y + 2}" font-size="12">{name}</text>')
    out.append("</svg>")
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(out) + "\n")


main()
