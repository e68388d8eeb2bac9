#!/usr/bin/env python3
"""Compare coroner's JSON verdicts with the lab's expected files.

    coroner analyze --format json captures/*.pcap* > /tmp/report.json
    python3 lab/compare.py /tmp/report.json [--expected captures]

The coroner document is read as {"captures": [{"file": ...}, ...], "connections": [{"client": {"ip", "port"},
"server": {"ip", "port"}, "ending", "reset_by", "cause", ...}]}. A connection is tied to its capture by a
"capture" / "file" key (a path or name) or a "capture_index" / "captureIndex" into "captures" when present;
otherwise by its 4-tuple among the listed captures (the lab's ports are unique per scenario). Several
connections on one 4-tuple (port reuse) are matched in order of appearance.

Only expected files whose capture is listed in the document are checked (so one capture at a time works).
Prints one line per mismatch and a summary; exit status 1 on any mismatch, missing or unexpected connection.
"""
import argparse
import glob
import json
import os
import sys

FIELDS = ("ending", "reset_by", "cause")


def endpoint(d):
    d = d or {}
    return (str(d.get("ip", d.get("address", ""))).lower(), int(d.get("port", 0) or 0))


def conn_key(c):
    return endpoint(c.get("client")) + endpoint(c.get("server"))


def capture_of(conn, captures):
    for k in ("capture", "file", "captureFile", "capture_file"):
        v = conn.get(k)
        if isinstance(v, str):
            return os.path.basename(v)
        if isinstance(v, dict) and "file" in v:
            return os.path.basename(v["file"])
    for k in ("capture_index", "captureIndex"):
        if isinstance(conn.get(k), int) and 0 <= conn[k] < len(captures):
            return os.path.basename(captures[conn[k]].get("file", ""))
    return None


def load_expected(folder, names):
    out = {}
    for path in sorted(glob.glob(os.path.join(folder, "*.expected.json"))):
        with open(path) as f:
            doc = json.load(f)
        if names is None or doc["capture"] in names:
            out[doc["capture"]] = doc
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("report", help="coroner's JSON output (analyze --format json)")
    ap.add_argument("--expected", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "captures"),
                    help="folder with <name>.expected.json (default: captures/)")
    ap.add_argument("--all", action="store_true", help="check every expected file, even captures the report does not list")
    ap.add_argument("-v", "--verbose", action="store_true", help="also print matching connections")
    args = ap.parse_args(argv)

    with open(args.report) as f:
        report = json.load(f)
    captures = report.get("captures", [])
    listed = {os.path.basename(c.get("file", "")) for c in captures if c.get("file")}
    expected = load_expected(args.expected, None if (args.all or not listed) else listed)
    if not expected:
        print("no expected files match the report's captures", file=sys.stderr)
        return 1
    missing_files = listed - set(expected)
    for name in sorted(missing_files):
        print(f"note: {name}: no expected file (not a lab capture?)")

    # group coroner's connections per capture (when it says) and per 4-tuple, in order
    by_capture_key = {}
    unplaced = {}
    for c in report.get("connections", []):
        cap = capture_of(c, captures)
        if cap is None and len(listed) == 1:
            cap = next(iter(listed))
        target = by_capture_key.setdefault(cap, {}) if cap else unplaced
        target.setdefault(conn_key(c), []).append(c)

    problems = 0
    checked = 0
    for name, doc in sorted(expected.items()):
        seen = {}
        for i, e in enumerate(doc["connections"]):
            key = conn_key(e)
            n = seen.get(key, 0)
            seen[key] = n + 1
            pool = by_capture_key.get(name, {}).get(key) or unplaced.get(key) or []
            label = f"{name} #{i + 1} {key[0]}:{key[1]} -> {key[2]}:{key[3]}" + (f" (connection {n + 1} on this 4-tuple)" if n else "")
            checked += 1
            if n >= len(pool):
                # maybe coroner swapped the roles
                swapped = by_capture_key.get(name, {}).get(key[2:] + key[:2]) or unplaced.get(key[2:] + key[:2])
                hint = " (coroner has it with client and server swapped)" if swapped else ""
                print(f"MISSING  {label}: expected {e['ending']}/{e['reset_by']}/{e['cause']}{hint}")
                problems += 1
                continue
            got = pool[n]
            pool[n] = None  # consumed
            diffs = [(k, e.get(k), got.get(k)) for k in FIELDS if e.get(k) != got.get(k)]
            if diffs:
                problems += 1
                print(f"DIFF     {label}: " + "; ".join(f"{k}: expected {x!r}, coroner {y!r}" for k, x, y in diffs))
            elif args.verbose:
                print(f"ok       {label}: {e['ending']}/{e['reset_by']}/{e['cause']}")
    for cap, groups in list(by_capture_key.items()) + [(None, unplaced)]:
        if cap is not None and cap not in expected:
            continue
        for key, lst in groups.items():
            for c in lst:
                if c is not None:
                    problems += 1
                    print(f"EXTRA    {cap or '?'} {key[0]}:{key[1]} -> {key[2]}:{key[3]}: coroner reports "
                          f"{c.get('ending')}/{c.get('reset_by')}/{c.get('cause')}, the lab expects no such connection")
    print(f"{checked} expected connections in {len(expected)} captures; {problems} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
