#!/usr/bin/env python3
"""coroner's scenario lab: reproduce TCP endings with the real kernel, capture them.

    sudo python3 lab/run.py                 # every scenario -> captures/
    sudo python3 lab/run.py --only refused half-close
    python3 lab/run.py --list

Each scenario gets fresh namespaces (crn-c, crn-r, crn-s), a tcpdump at its
vantage point, a server and a client program (lab/peer.py) driven by a script
of socket calls, and a check over tshark's view of the capture. It writes
<out>/<name>.pcap[ng] and <out>/<name>.expected.json. Exit status 1 when any
scenario's wire check failed.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import netlab  # noqa: E402
from netlab import C, R, S  # noqa: E402
import scenario as sc  # noqa: E402
import scenarios  # noqa: E402,F401  (registers every scenario)

ROLE_NS = {"client": C, "server": S, "router": R}


class Context:
    """What a scenario's `during` step can do while the programs run."""

    def __init__(self, topo, workdir, t0):
        self.topo, self.workdir, self.t0 = topo, workdir, t0
        self.peers = {}
        self.events = []

    def event(self, text):
        self.events.append({"t": round(time.time() - self.t0, 3), "event": text})

    def wait_mark(self, name, timeout=20):
        path = os.path.join(self.workdir, name)
        deadline = time.time() + timeout
        while not os.path.exists(path):
            if time.time() > deadline:
                raise TimeoutError(f"mark {name!r} never came")
            time.sleep(0.005)

    def go(self, name):
        open(os.path.join(self.workdir, name), "w").close()

    def nft(self, rule):
        self.topo.nft(rule)
        self.event("router: nft " + rule)

    def nft_flush(self):
        self.topo.nft_flush()
        self.event("router: nft flush (rules removed)")

    def kill(self, role, sig=signal.SIGKILL):
        self.peers[role].kill(sig)
        self.event(f"driver: {signal.Signals(sig).name} to the {role} program")

    def sleep(self, s):
        time.sleep(s)


def run_scenario(s, out_dir, keep_work=False):
    topo = netlab.Topology()
    workdir = tempfile.mkdtemp(prefix="crn-lab-")
    result = {"name": s.name, "ok": False, "checks": [], "error": None}
    cap = None
    ctx = None
    started = time.time()
    try:
        topo.build()
        for role, kv in s.sysctls.items():
            for k, v in kv.items():
                topo.sysctl(ROLE_NS[role], k, v)
        for rule in s.nft:
            topo.nft(rule)
        ns = S if s.vantage == "server" else (R if s.vantage == "router" else C)
        iface = s.iface or netlab.IFACE.get(ns, "r0")
        raw_path = os.path.join(workdir, "capture.pcap")
        cap = netlab.Capture(ns, iface, raw_path, snaplen=s.snaplen, linktype=s.linktype)
        cap.start()
        t0 = time.time()
        ctx = Context(topo, workdir, t0)
        if s.server:
            ctx.peers["server"] = netlab.Peer("server", S, s.server, workdir, t0)
            ctx.wait_mark("listening", 10)
        if s.client:
            ctx.peers["client"] = netlab.Peer("client", C, s.client, workdir, t0)
        if s.during:
            s.during(ctx)
        if s.stop_capture_first:
            time.sleep(s.settle)
            cap.stop()
            ctx.event("capture stopped (the programs still run; later calls are left out)")
        else:
            deadline = time.time() + s.max_time
            if "client" in ctx.peers and not ctx.peers["client"].wait(max(0.1, deadline - time.time())):
                ctx.event("driver: client program still running at the scenario's time limit; killed after the capture")
            if "server" in ctx.peers:
                ctx.peers["server"].wait(s.server_grace)
            time.sleep(s.settle)
            cap.stop()
            ctx.event("capture stopped")
        stop_t = time.time() - t0
        for p in ctx.peers.values():
            p.kill()
        logs = {role: [e for e in p.entries() if e["t"] <= stop_t] for role, p in ctx.peers.items()}
        # capture file into place
        dest = os.path.join(out_dir, s.capture_file)
        if s.pcapng:
            subprocess.run(["editcap", "-F", "pcapng", raw_path, dest], check=True)
        else:
            shutil.copyfile(raw_path, dest)
        pkts = netlab.tshark_packets(dest)
        v6 = s.conns and s.conns[0].v6
        cip, sip = (sc.CLIENT6, sc.SERVER6) if v6 else (sc.CLIENT4, sc.SERVER4)
        wires = {}
        for cn in s.conns:
            # several connections may share a label only in port reuse: split by SYN
            wires.setdefault(cn.label, sc.Wire(pkts, cn, *( (sc.CLIENT6, sc.SERVER6) if cn.v6 else (sc.CLIENT4, sc.SERVER4))))
        checks = []
        if s.check:
            checks = [(bool(ok), text) for ok, text in s.check(wires, logs, pkts)]
        if not pkts:
            checks.append((False, "capture is empty"))
        result["checks"] = checks
        result["ok"] = all(ok for ok, _ in checks)
        result["packets"] = len(pkts)
        write_expected(s, out_dir, logs, wires, pkts, ctx.events, result)
    except Exception as e:  # noqa: BLE001
        result["error"] = f"{type(e).__name__}: {e}"
        result["trace"] = traceback.format_exc()
    finally:
        if cap:
            cap.stop()
        if ctx:
            for p in ctx.peers.values():
                try:
                    p.kill()
                except Exception:  # noqa: BLE001
                    pass
        topo.teardown()
        if keep_work:
            result["workdir"] = workdir
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    result["seconds"] = round(time.time() - started, 1)
    return result


def compress(entries):
    """Drop the label and collapse runs of identical calls (ignoring time) into one with a count."""
    out = []
    for e in entries:
        e = {k: v for k, v in e.items() if k != "conn"}
        key = {k: v for k, v in e.items() if k != "t"}
        if out:
            prev = {k: v for k, v in out[-1].items() if k not in ("t", "count", "t_last")}
            if prev == key:
                out[-1]["count"] = out[-1].get("count", 1) + 1
                out[-1]["t_last"] = e["t"]
                continue
        out.append(e)
    return out


def conn_calls(logs, role, cn):
    labels = {cn.label}
    if role == "server" and cn.listener:
        labels.add(cn.listener)
    sel = []
    for e in logs.get(role, []):
        if e.get("conn") in labels or (e.get("conn") is None and e["call"] in ("exit", "kill")):
            sel.append(e)
    return compress(sel)


def write_expected(s, out_dir, logs, wires, pkts, events, result):
    conns = []
    seen = {}
    for cn in s.conns:
        cip, sip = (sc.CLIENT6, sc.SERVER6) if cn.v6 else (sc.CLIENT4, sc.SERVER4)
        w = wires[cn.label]
        # port reuse: two connections on one 4-tuple -> split the wire at each client SYN run
        same = [x for x in s.conns if (x.client_port, x.server_port) == (cn.client_port, cn.server_port)]
        if len(same) > 1:
            idx = seen.get((cn.client_port, cn.server_port), 0)
            seen[(cn.client_port, cn.server_port)] = idx + 1
            wire = split_by_syn(w)[idx] if idx < len(split_by_syn(w)) else ""
        else:
            wire = w.summary()
        d = {
            "client": {"ip": cip, "port": cn.client_port},
            "server": {"ip": sip, "port": cn.server_port},
            "ending": cn.ending,
            "reset_by": cn.reset_by,
            "cause": cn.cause,
            "calls": {"client": conn_calls(logs, "client", cn), "server": conn_calls(logs, "server", cn)},
            "wire": wire,
        }
        if cn.note:
            d["note"] = cn.note
        conns.append(d)
    doc = {
        "scenario": s.name,
        "description": s.description,
        "seed_case": s.seed_case,
        "vantage": s.vantage,
        "capture": s.capture_file,
        "connections": conns,
        "notes": s.notes,
        "varies_between_runs": s.varies or "ISNs, TCP timestamps, packet and call times (t, seconds since the capture started) by milliseconds.",
        "lab_events": events,
        "wire_checks": [{"ok": ok, "check": text} for ok, text in result["checks"]],
        "capture_options": {k: v for k, v in (("snaplen", s.snaplen), ("linktype", s.linktype), ("iface", s.iface), ("pcapng", s.pcapng or None)) if v},
        "generated_by": "lab/run.py (do not edit by hand: regenerate)",
    }
    with open(os.path.join(out_dir, s.name + ".expected.json"), "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


def split_by_syn(w):
    """Summaries of the successive connections on one 4-tuple (a new client SYN after the first handshake)."""
    groups, cur = [], []
    seen_synack = False
    for p in w.pk:
        is_syn = p["dir"] == "c" and "S" in p["flags"] and "A" not in p["flags"]
        if is_syn and seen_synack:
            groups.append(cur)
            cur, seen_synack = [], False
        if p["dir"] == "s" and {"S", "A"} <= p["flags"]:
            seen_synack = True
        cur.append(p)
    groups.append(cur)
    out = []
    for g in groups:
        v = sc.Wire.__new__(sc.Wire)
        v.pk = g
        out.append(v.summary())
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", metavar="NAME", help="run only these scenarios (names or prefixes)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(HERE), "captures"), help="output folder (default: captures/)")
    ap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    ap.add_argument("--keep-work", action="store_true", help="keep each scenario's work folder (logs, scripts)")
    ap.add_argument("--clean", action="store_true", help="remove stale crn-* namespaces and exit")
    args = ap.parse_args()

    chosen = sc.REGISTRY
    if args.only:
        chosen = [s for s in sc.REGISTRY if any(s.name == n or s.name.startswith(n) for n in args.only)]
        missing = [n for n in args.only if not any(s.name == n or s.name.startswith(n) for s in sc.REGISTRY)]
        if missing:
            sys.exit("no such scenario: " + ", ".join(missing))
    if args.list:
        for s in chosen:
            print(f"{s.name:45} {s.conns[0].cause:24} {s.conns[0].ending:10} {s.conns[0].reset_by}")
        return 0
    if os.geteuid() != 0:
        sys.exit("the scenario lab needs root (network namespaces): run sudo python3 lab/run.py")
    for tool in ("ip", "nft", "tcpdump", "tshark", "editcap"):
        if not shutil.which(tool):
            sys.exit(f"the scenario lab needs {tool}")

    def on_signal(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    netlab.delete_namespaces()  # stale ones from an interrupted run
    if args.clean:
        return 0
    os.makedirs(args.out, exist_ok=True)
    t_start = time.time()
    results = []
    try:
        for s in chosen:
            print(f"-- {s.name} ...", end="", flush=True)
            r = run_scenario(s, args.out, args.keep_work)
            results.append(r)
            status = "ok" if r["ok"] else "FAIL"
            print(f" {status} ({r['seconds']} s, {r.get('packets', 0)} packets)")
            if r["error"]:
                print("   error: " + r["error"])
                if os.environ.get("LAB_DEBUG"):
                    print(r.get("trace", ""))
            for ok, text in r["checks"]:
                if not ok:
                    print("   check failed: " + text)
            if r.get("workdir"):
                print("   work folder: " + r["workdir"])
    except KeyboardInterrupt:
        print("\ninterrupted: tearing down")
        netlab.delete_namespaces()
        return 130
    finally:
        netlab.delete_namespaces()
    total = time.time() - t_start
    bad = [r["name"] for r in results if not r["ok"]]
    size = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print(f"\n{len(results) - len(bad)}/{len(results)} scenarios ok in {total:.0f} s; {args.out} holds {size / 1024:.0f} KiB")
    if bad:
        print("FAILED: " + " ".join(bad))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
