"""Plots bench/scale.csv (written by bench/scale) as four PNG charts, log-log.

usage: /usr/bin/python3 bench/plot_scale.py SCALE_CSV OUT_DIR
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

CHARTS = [
    ("memory", "memory per job (RSS bytes)", [("memory_b_per_job", "")]),
    ("fire", "burst fire throughput (runs started/s)",
     [("fire_memory_per_s", " memory store"), ("fire_sqlite_per_s", " SQLite store")]),
    ("list", "full job listing GET /schedule/jobs (s)", [("list_s", "")]),
    ("startup", "start-up: to ready (chimed) / to first run (APScheduler) (s)", [("startup_s", "")]),
]


def series(rows, side, col):
    pts = [(int(r["jobs"]), float(r[col])) for r in rows if r["side"] == side and r[col]]
    return [p[0] for p in pts], [p[1] for p in pts]


def main():
    rows = list(csv.DictReader(open(sys.argv[1])))
    for name, title, cols in CHARTS:
        fig, ax = plt.subplots(figsize=(6, 4))
        for side, style in (("chime", "o-"), ("apscheduler", "s--")):
            for col, label in cols:
                x, y = series(rows, side, col)
                if x:
                    ax.plot(x, y, style, label=side + label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("jobs")
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig("%s/scale-%s.png" % (sys.argv[2], name), dpi=90)
        plt.close(fig)


if __name__ == "__main__":
    main()
