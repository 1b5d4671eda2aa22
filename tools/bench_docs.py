#!/usr/bin/env python3
"""Puts the latest full benchmark run into docs/performance.md (ci/bench.sh calls it after a full
run): replaces what stands between the two marker lines with a link to the results directory, its
plot and its table.md.

    tools/bench_docs.py docs/performance.md bench/results/<date>-<cpu>
"""
import os
import sys

BEGIN = "<!-- bench-results:begin (ci/bench.sh writes this part) -->"
END = "<!-- bench-results:end -->"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    doc, results = sys.argv[1], sys.argv[2].rstrip("/")
    with open(doc) as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        sys.exit(f"bench_docs.py: {doc} has no results markers; not updated")
    with open(os.path.join(results, "table.md")) as f:
        table = f.read().strip()
    rel = os.path.relpath(results, os.path.dirname(os.path.abspath(doc)) if os.path.isabs(doc)
                          else os.path.dirname(doc))
    parts = [BEGIN, "", f"Latest full run: [`{os.path.basename(results)}`]({rel}/) "
             f"([JSON]({rel}/qk-bench.json), [table]({rel}/table.md)).", ""]
    if os.path.exists(os.path.join(results, "plot.png")):
        parts += [f"![conv2d GOPS per layer]({rel}/plot.png)", ""]
    parts += [table, "", END]
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(doc, "w") as f:
        f.write(head + "\n".join(parts) + tail)
    print(f"bench_docs.py: {doc} now shows {results}")


if __name__ == "__main__":
    main()
