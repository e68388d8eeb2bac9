"""Topology, captures and process control for the scenario lab.

Three network namespaces joined by two veth pairs, addresses from the
benchmarking/documentation ranges only (198.18.0.0/15, 2001:db8::/32):

    crn-c  c0 198.18.0.2/24 2001:db8:1::2/64
       |
    crn-r  r0 198.18.0.1/24 2001:db8:1::1/64   r1 198.19.0.1/24 2001:db8:2::1/64
       |
    crn-s  s0 198.19.0.2/24 2001:db8:2::2/64

No default routes; only the two lab prefixes are routed. Nothing is created in,
or changed in, the root namespace (the veths are created inside the namespaces).
"""
import array
import fcntl
import json
import os
import signal
import socket
import struct
import subprocess
import threading
import time

PREFIX = "crn-"
C, R, S = "crn-c", "crn-r", "crn-s"
ADDR = {
    "client4": "198.18.0.2", "server4": "198.19.0.2",
    "router4c": "198.18.0.1", "router4s": "198.19.0.1",
    "client6": "2001:db8:1::2", "server6": "2001:db8:2::2",
    "router6c": "2001:db8:1::1", "router6s": "2001:db8:2::1",
}
IFACE = {C: "c0", S: "s0"}
HERE = os.path.dirname(os.path.abspath(__file__))

# Timers shrunk in the client and server namespaces (all per-netns on 6.x).
BASE_SYSCTLS = {
    "net.ipv4.tcp_syn_retries": 3,
    "net.ipv4.tcp_synack_retries": 2,
    "net.ipv4.tcp_retries2": 4,
    "net.ipv4.tcp_fin_timeout": 3,
    "net.ipv4.tcp_orphan_retries": 2,
    "net.ipv4.tcp_keepalive_time": 2,
    "net.ipv4.tcp_keepalive_intvl": 1,
    "net.ipv4.tcp_keepalive_probes": 3,
}


def sh(*args, check=True, ns=None, capture=False, timeout=30):
    cmd = list(args)
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    r = subprocess.run(cmd, stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"command failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr.strip()}")
    return r.stdout if capture else r.returncode


def lab_namespaces():
    out = subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(PREFIX)]


def pids_in(ns):
    out = subprocess.run(["ip", "netns", "pids", ns], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    return [int(p) for p in out.split()]


def delete_namespaces():
    """Delete every namespace with the lab prefix (stale ones from a killed run too)."""
    for ns in lab_namespaces():
        for pid in pids_in(ns):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


def disable_offloads(ns, ifname):
    """ethtool -K IF tso off gso off (no ethtool binary here: the ioctl does it).
    Without this a veth capture shows 'segments' larger than the MTU."""
    code = (
        "import array,fcntl,socket,struct\n"
        "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
        "for cmd in (0x1f,0x24,0x2c):\n"
        "  b=array.array('B',struct.pack('II',cmd,0)); a,_=b.buffer_info()\n"
        f"  fcntl.ioctl(s.fileno(),0x8946,struct.pack('16sP',b'{ifname}',a))\n"
    )
    sh("python3", "-c", code, ns=ns)


class Topology:
    def __init__(self):
        self.up = False

    def build(self):
        for ns in (C, R, S):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            # keep IPv6 housekeeping (RS, DAD, MLD reports) out of the captures: none, or done
            # within milliseconds of link-up, long before a capture starts
            for k, v in (("router_solicitations", 0), ("accept_dad", 0),
                         ("mldv1_unsolicited_report_interval", 1), ("mldv2_unsolicited_report_interval", 1)):
                for scope in ("all", "default"):
                    self.sysctl(ns, f"net.ipv6.conf.{scope}.{k}", v)
        sh("ip", "-n", C, "link", "add", "name", "c0", "type", "veth", "peer", "name", "r0", "netns", R)
        sh("ip", "-n", S, "link", "add", "name", "s0", "type", "veth", "peer", "name", "r1", "netns", R)
        for ns, ifn, v4, v6 in ((C, "c0", "198.18.0.2/24", "2001:db8:1::2/64"),
                                (R, "r0", "198.18.0.1/24", "2001:db8:1::1/64"),
                                (R, "r1", "198.19.0.1/24", "2001:db8:2::1/64"),
                                (S, "s0", "198.19.0.2/24", "2001:db8:2::2/64")):
            sh("ip", "-n", ns, "addr", "add", v4, "dev", ifn)
            sh("ip", "-n", ns, "-6", "addr", "add", v6, "dev", ifn, "nodad")
            disable_offloads(ns, ifn)
            sh("ip", "-n", ns, "link", "set", ifn, "up")
        sh("ip", "-n", C, "route", "add", "198.19.0.0/24", "via", "198.18.0.1")
        sh("ip", "-n", S, "route", "add", "198.18.0.0/24", "via", "198.19.0.1")
        sh("ip", "-n", C, "-6", "route", "add", "2001:db8:2::/64", "via", "2001:db8:1::1")
        sh("ip", "-n", S, "-6", "route", "add", "2001:db8:1::/64", "via", "2001:db8:2::1")
        self.sysctl(R, "net.ipv4.ip_forward", 1)
        self.sysctl(R, "net.ipv6.conf.all.forwarding", 1)
        for ns in (C, S):
            for k, v in BASE_SYSCTLS.items():
                self.sysctl(ns, k, v)
        # an empty filter table in the router that scenarios add rules to
        self.nft("add table inet lab")
        self.nft("add chain inet lab labfwd { type filter hook forward priority 0; policy accept; }")
        self.up = True
        # static neighbours: no ARP / neighbour discovery in any capture, ever
        mac = {(ns, ifn): self.mac(ns, ifn) for ns, ifn in ((C, "c0"), (R, "r0"), (R, "r1"), (S, "s0"))}
        for ns, ifn, peer, addrs in ((C, "c0", (R, "r0"), ("198.18.0.1", "2001:db8:1::1")),
                                     (R, "r0", (C, "c0"), ("198.18.0.2", "2001:db8:1::2")),
                                     (R, "r1", (S, "s0"), ("198.19.0.2", "2001:db8:2::2")),
                                     (S, "s0", (R, "r1"), ("198.19.0.1", "2001:db8:2::1"))):
            for a in addrs:
                sh("ip", "-n", ns, "neigh", "replace", a, "lladdr", mac[peer], "dev", ifn, "nud", "permanent")

    @staticmethod
    def mac(ns, ifn):
        return json.loads(sh("ip", "-j", "-n", ns, "link", "show", ifn, capture=True))[0]["address"]

    def sysctl(self, ns, key, value):
        sh("sysctl", "-q", "-w", f"{key}={value}", ns=ns)

    def nft(self, rule):
        sh("nft", rule, ns=R)

    def nft_flush(self):
        self.nft("flush chain inet lab labfwd")

    def teardown(self):
        delete_namespaces()
        self.up = False


class Capture:
    """tcpdump inside a namespace; start() returns once it is really capturing."""

    def __init__(self, ns, iface, path, snaplen=None, linktype=None):
        self.ns, self.iface, self.path = ns, iface, path
        cmd = ["ip", "netns", "exec", ns, "tcpdump", "-i", iface, "-w", path, "-U", "-n", "--immediate-mode"]
        if snaplen:
            cmd += ["-s", str(snaplen)]
        if linktype:
            cmd += ["-y", linktype]
        self.cmd = cmd
        self.proc = None
        self.stderr = []

    def start(self, timeout=10):
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        ready = threading.Event()

        def reader():
            for line in self.proc.stderr:
                self.stderr.append(line.rstrip())
                if "listening on" in line:
                    ready.set()
            ready.set()

        threading.Thread(target=reader, daemon=True).start()
        if not ready.wait(timeout) or self.proc.poll() is not None:
            raise RuntimeError("tcpdump did not start: " + " | ".join(self.stderr))
        time.sleep(0.05)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        time.sleep(0.05)
        return self.stderr


class Peer:
    """One run of peer.py in a namespace."""

    def __init__(self, role, ns, script, workdir, t0):
        self.role, self.ns = role, ns
        self.script_path = os.path.join(workdir, f"{role}.script.json")
        self.log_path = os.path.join(workdir, f"{role}.log.jsonl")
        with open(self.script_path, "w") as f:
            json.dump({"actors": script}, f)
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, "python3", os.path.join(HERE, "peer.py"),
             "--script", self.script_path, "--log", self.log_path, "--ctl", workdir, "--t0", repr(t0)],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(workdir, f"{role}.stderr"), "w"))

    def wait(self, timeout):
        try:
            self.proc.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def kill(self, sig=signal.SIGKILL):
        if self.proc.poll() is None:
            # ip netns exec execs python, so the pid is the program itself
            os.kill(self.proc.pid, sig)
            self.proc.wait()

    def entries(self):
        if not os.path.exists(self.log_path):
            return []
        out = []
        with open(self.log_path) as f:
            for line in f:
                line = line.strip()
                if line:
                    out.append(json.loads(line))
        return out


def tshark_packets(path):
    """Packets of a capture as dicts (one per TCP or ICMP frame)."""
    fields = ["frame.number", "frame.time_relative", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst",
              "tcp.srcport", "tcp.dstport", "tcp.flags", "tcp.seq_raw", "tcp.ack_raw",
              "tcp.len", "ip.ttl", "ipv6.hlim", "tcp.window_size_value", "icmp.type", "icmpv6.type",
              "tcp.analysis.retransmission", "tcp.analysis.zero_window", "tcp.analysis.zero_window_probe",
              "tcp.analysis.keep_alive", "tcp.stream", "frame.protocols"]
    cmd = ["tshark", "-r", path, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=f"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=True).stdout
    pkts = []
    for line in out.splitlines():
        v = line.split("\t")
        v += [""] * (len(fields) - len(v))
        d = dict(zip(fields, v))
        fl = int(d["tcp.flags"], 16) if d["tcp.flags"] else 0
        flags = {ch for bit, ch in ((1, "F"), (2, "S"), (4, "R"), (8, "P"), (16, "A")) if fl & bit}
        p = {
            "n": int(d["frame.number"]), "t": float(d["frame.time_relative"] or 0),
            "src": d["ip.src"] or d["ipv6.src"], "dst": d["ip.dst"] or d["ipv6.dst"],
            "sport": int(d["tcp.srcport"]) if d["tcp.srcport"] else None,
            "dport": int(d["tcp.dstport"]) if d["tcp.dstport"] else None,
            "flags": flags,
            "seq": int(d["tcp.seq_raw"]) if d["tcp.seq_raw"] else None,
            "ack": int(d["tcp.ack_raw"]) if d["tcp.ack_raw"] else None,
            "len": int(d["tcp.len"]) if d["tcp.len"] else 0,
            "ttl": int(d["ip.ttl"] or d["ipv6.hlim"] or 0),
            "win": int(d["tcp.window_size_value"]) if d["tcp.window_size_value"] else None,
            "icmp": d["icmp.type"] or d["icmpv6.type"] or None,
            "retrans": bool(d["tcp.analysis.retransmission"]),
            "zerowin": bool(d["tcp.analysis.zero_window"]),
            "zwp": bool(d["tcp.analysis.zero_window_probe"]),
            "keepalive": bool(d["tcp.analysis.keep_alive"]),
            "protocols": d["frame.protocols"],
        }
        pkts.append(p)
    return pkts


def flag_token(p):
    f = p["flags"]
    s = "".join(ch for ch in "SFRPA" if ch in f)
    return s or "-"
