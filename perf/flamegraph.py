#!/usr/bin/python3
"""Turns `perf script` output into a flame graph (SVG) and a folded-stacks file.

    perf script -i perf.data | perf/flamegraph.py --title "wsagent fanout" -o flame.svg

Debian 12 has no flame graph tool, so this is a small self-contained one: stacks are
folded (root first, one line per unique stack with its sample count, the format of
Brendan Gregg's stackcollapse), then drawn as nested rectangles whose width is the share
of samples. Hovering a frame shows its name, samples and percentage.
"""
import argparse
import collections
import html
import re
import sys

FRAME = re.compile(r"^\s*[0-9a-f]+\s+(.+?)\s+\((.*)\)\s*$")


def fold(lines):
    """Yields (stack tuple root-first, count) from perf script text."""
    stacks = collections.Counter()
    frames = []
    command = None
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if command is not None:
                stacks[tuple([command] + frames[::-1])] += 1
            frames, command = [], None
            continue
        if command is None and not line.startswith((" ", "\t")):
            command = line.split()[0]
            continue
        m = FRAME.match(line)
        if m:
            name = m.group(1)
            name = re.sub(r"\+0x[0-9a-f]+$", "", name)
            if name == "[unknown]":
                name = "[" + m.group(2).split("/")[-1] + "]"
            frames.append(name)
    if command is not None:
        stacks[tuple([command] + frames[::-1])] += 1
    return stacks


def color(name):
    h = 0
    for ch in name:
        h = (h * 31 + ord(ch)) & 0xFFFFFF
    if name.startswith("wsa::") or "wsa::" in name:
        return f"rgb({200 + h % 55},{90 + h % 70},{40 + h % 40})"
    if "[k]" in name or name.startswith(("__", "tcp_", "ip_", "sk", "io_")):
        return f"rgb({200 + h % 40},{170 + h % 50},{60 + h % 40})"
    return f"rgb({220 + h % 35},{110 + h % 80},{60 + h % 30})"


def render(stacks, title, width=1400, row=17):
    root = {"name": "all", "value": 0, "children": {}}
    for stack, count in stacks.items():
        node = root
        node["value"] += count
        for name in stack:
            node = node["children"].setdefault(name, {"name": name, "value": 0, "children": {}})
            node["value"] += count
    total = max(root["value"], 1)
    rects = []
    depth_max = 0

    def walk(node, x, depth):
        nonlocal depth_max
        depth_max = max(depth_max, depth)
        w = node["value"] / total * (width - 20)
        if w >= 0.3:
            rects.append((x, depth, w, node))
        cx = x
        for child in sorted(node["children"].values(), key=lambda n: n["name"]):
            walk(child, cx, depth + 1)
            cx += child["value"] / total * (width - 20)

    walk(root, 10, 0)
    height = (depth_max + 3) * row + 30
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="monospace" font-size="11">',
           f'<rect width="100%" height="100%" fill="#f8f8f0"/>',
           f'<text x="{width // 2}" y="18" text-anchor="middle" font-size="15">'
           f'{html.escape(title)} ({total} samples)</text>']
    for x, depth, w, node in rects:
        y = height - (depth + 1) * row - 10
        pct = 100.0 * node["value"] / total
        label = html.escape(node["name"])
        out.append(f'<g><title>{label} ({node["value"]} samples, {pct:.2f}%)</title>'
                   f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row - 1}" '
                   f'fill="{color(node["name"])}" rx="2"/>')
        chars = int(w / 7)
        if chars >= 3:
            text = node["name"] if len(node["name"]) <= chars else node["name"][:chars - 2] + ".."
            out.append(f'<text x="{x + 3:.1f}" y="{y + row - 5}">{html.escape(text)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("-o", "--output", default="flame.svg")
    ap.add_argument("--folded", help="also write folded stacks here")
    ap.add_argument("--title", default="wsagent")
    args = ap.parse_args()
    stacks = fold(sys.stdin)
    if args.folded:
        with open(args.folded, "w") as f:
            for stack, count in sorted(stacks.items(), key=lambda kv: -kv[1]):
                f.write(";".join(stack) + f" {count}\n")
    with open(args.output, "w") as f:
        f.write(render(stacks, args.title))
    print(f"wrote {args.output} ({sum(stacks.values())} samples, {len(stacks)} stacks)")


if __name__ == "__main__":
    main()
