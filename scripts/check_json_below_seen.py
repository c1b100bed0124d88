#!/usr/bin/env python3
"""Reads the JSON report of `estimate --format json` and prints every point estimate
(`n_hat`) that is a number below the units seen (`observed` of the same object, or of the
nearest enclosing object that has one, as for a headline's candidates). Exit 1 if any,
2 if the file is not JSON."""
import json
import sys


def walk(o, seen, path, out):
    if isinstance(o, dict):
        if isinstance(o.get("observed"), (int, float)):
            seen = o["observed"]
        n = o.get("n_hat")
        if isinstance(n, (int, float)) and seen is not None and n < seen * (1 - 1e-12):
            label = o.get("model") or o.get("basis") or ""
            out.append(f"{path}: n_hat {n} < {seen} seen ({label})")
        for k, v in o.items():
            walk(v, seen, f"{path}/{k}", out)
    elif isinstance(o, list):
        for i, v in enumerate(o):
            walk(v, seen, f"{path}[{i}]", out)


try:
    report = json.load(open(sys.argv[1]))
except Exception as e:  # noqa: BLE001
    print(f"INVALID JSON: {e}")
    sys.exit(2)
bad = []
walk(report, None, "", bad)
for b in bad[:5]:
    print(b)
sys.exit(1 if bad else 0)
