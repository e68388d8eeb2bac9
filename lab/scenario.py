"""Scenario model, script helpers and wire predicates for the scenario lab."""
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

CLIENT4, SERVER4 = "198.18.0.2", "198.19.0.2"
CLIENT6, SERVER6 = "2001:db8:1::2", "2001:db8:2::2"

REGISTRY = []


@dataclass
class Conn:
    label: str                  # the socket label both programs use in their logs
    client_port: int
    server_port: int
    ending: str                 # graceful | reset | refused | timeout | unfinished
    reset_by: Optional[str]     # client | server | middlebox | None
    cause: str
    v6: bool = False
    listener: Optional[str] = "L"   # server-side listener label whose calls belong to this connection
    note: str = ""


@dataclass
class Scenario:
    name: str
    description: str
    seed_case: Optional[str]
    conns: list
    server: list = field(default_factory=list)     # actors (lists of actions); [] = no server program
    client: list = field(default_factory=list)
    vantage: str = "client"
    sysctls: dict = field(default_factory=dict)    # {"client"|"server"|"router": {key: value}}
    nft: list = field(default_factory=list)        # router rules added before the capture starts
    during: Optional[Callable] = None              # driver steps after the client started
    check: Optional[Callable] = None               # (Wire views by label, logs) -> [(ok, text)]
    notes: str = ""
    varies: str = ""
    max_time: float = 20.0
    settle: float = 0.4
    snaplen: Optional[int] = None
    linktype: Optional[str] = None
    iface: Optional[str] = None                    # default: c0 (client vantage) / s0 (server)
    pcapng: bool = False
    stop_capture_first: bool = False               # still_open: stop tcpdump while peers still run
    server_grace: float = 1.0                      # how long the server may run on after the client

    @property
    def capture_file(self):
        return self.name + (".pcapng" if self.pcapng else ".pcap")


def scenario(**kw):
    s = Scenario(**kw)
    if any(x.name == s.name for x in REGISTRY):
        raise ValueError("duplicate scenario " + s.name)
    REGISTRY.append(s)
    return s


# ---------------------------------------------------------------- script helpers
def listen(port, ip=SERVER4, backlog=16, sock="L", **opts):
    a = {"op": "listen", "sock": sock, "ip": ip, "port": port, "backlog": backlog}
    if opts:
        a["opts"] = opts
    return a


def accept(as_="c1", sock="L", timeout=20):
    return {"op": "accept", "sock": sock, "as": as_, "timeout": timeout}


def connect(port, src_port, as_="c1", ip=SERVER4, timeout=30):
    return {"op": "connect", "as": as_, "ip": ip, "port": port, "src_port": src_port, "timeout": timeout}


def send(sock="c1", n=1000, count=1, gap=0.0, text=None, timeout=None):
    a = {"op": "send", "sock": sock, "bytes": n, "count": count, "gap": gap}
    if text is not None:
        a["text"] = text
    if timeout is not None:
        a["timeout"] = timeout
    return a


def recv(sock="c1", count=1, timeout=20, max=65536):
    return {"op": "recv", "sock": sock, "count": count, "timeout": timeout, "max": max}


def recv_eof(sock="c1", timeout=20):
    return {"op": "recv_until_eof", "sock": sock, "timeout": timeout}


def recv_exact(n, sock="c1", timeout=20):
    return {"op": "recv_exact", "sock": sock, "n": n, "timeout": timeout}


def recv_for(seconds, sock="c1"):
    return {"op": "recv_for", "sock": sock, "seconds": seconds}


def fill(sock="c1", chunk=1000, timeout=0.5):
    return {"op": "fill", "sock": sock, "chunk": chunk, "timeout": timeout}


def close(sock="c1"):
    return {"op": "close", "sock": sock}


def shutdown(how="WR", sock="c1"):
    return {"op": "shutdown", "sock": sock, "how": how}


def linger0(sock="c1"):
    return {"op": "linger0", "sock": sock}


def keepalive(sock="c1", idle=1, intvl=1, cnt=3):
    return {"op": "keepalive", "sock": sock, "idle": idle, "intvl": intvl, "cnt": cnt}


def sleep(s):
    return {"op": "sleep", "s": s}


def mark(name):
    return {"op": "mark", "name": name}


def wait(name, timeout=30):
    return {"op": "wait", "name": name, "timeout": timeout}


def op(name, **kw):
    d = {"op": name}
    d.update(kw)
    return d


# ---------------------------------------------------------------- wire views
class Wire:
    """The packets of one connection (by 4-tuple), each tagged dir 'c' or 's'."""

    def __init__(self, pkts, conn, client_ip, server_ip):
        self.client_ip, self.server_ip = client_ip, server_ip
        self.pk = []
        ports = {conn.client_port, conn.server_port}
        for p in pkts:
            if p["sport"] is None or {p["sport"], p["dport"]} != ports:
                continue
            if p["icmp"]:
                q = dict(p, dir="icmp")
            elif p["src"] == client_ip and p["sport"] == conn.client_port:
                q = dict(p, dir="c")
            elif p["dst"] == client_ip and p["dport"] == conn.client_port:
                q = dict(p, dir="s")
            else:
                continue
            self.pk.append(q)

    def tcp(self, d=None):
        return [p for p in self.pk if p["dir"] in ("c", "s") and (d is None or p["dir"] == d)]

    def flagged(self, f, d=None):
        return [p for p in self.tcp(d) if f in p["flags"]]

    def rsts(self, d=None):
        return self.flagged("R", d)

    def fins(self, d=None):
        return self.flagged("F", d)

    def syns(self, d=None):
        return [p for p in self.tcp(d) if "S" in p["flags"] and "A" not in p["flags"]]

    def synacks(self):
        return [p for p in self.tcp("s") if {"S", "A"} <= p["flags"]]

    def data(self, d=None):
        return [p for p in self.tcp(d) if p["len"] > 0]

    def last(self):
        t = self.tcp()
        return t[-1] if t else None

    def icmp(self):
        return [p for p in self.pk if p["dir"] == "icmp"]

    def ttls(self, d, without_rst=True):
        return {p["ttl"] for p in self.tcp(d) if not (without_rst and "R" in p["flags"])}

    def summary(self):
        """Compact run-length summary: C:S S:SA C:A C:PA+1000 x5 C:FA S:FA C:A ..."""
        toks = []
        for p in self.pk:
            if p["dir"] == "icmp":
                toks.append(f"ICMP(type {p['icmp']}) from {p['src']}")
                continue
            side = "C" if p["dir"] == "c" else "S"
            fl = "".join(ch for ch in "SFRPA" if ch in p["flags"]) or "-"
            t = f"{side}:{fl}"
            if p["len"]:
                t += f"+{p['len']}"
            if "R" in p["flags"]:
                t += f"(ttl {p['ttl']})"
            if p["zwp"]:
                t += "(zero-window probe)"
            elif p["keepalive"]:
                t += "(keep-alive)"
            elif p["retrans"]:
                t += "(retx)"
            if p["win"] == 0 and "R" not in p["flags"]:
                t += "(win 0)"
            toks.append(t)
        out = []
        for t in toks:
            if out and out[-1][0] == t:
                out[-1][1] += 1
            else:
                out.append([t, 1])
        text = " ".join(t if n == 1 else f"{t} x{n}" for t, n in out)
        if len(text) > 700:
            cut = text[:600].rsplit(" ", 1)[0]
            text = cut + f" ... ({len(self.pk)} packets in all) ... " + " ".join(text.split(" ")[-8:])
        return text


def calls(logs, role, call=None, result=None, conn=None):
    out = []
    for e in logs.get(role, []):
        if call and e["call"] != call:
            continue
        if result and e.get("result") != result:
            continue
        if conn and e.get("conn") != conn:
            continue
        out.append(e)
    return out


def results(logs, role, call, conn="c1"):
    return [e.get("result") for e in calls(logs, role, call=call, conn=conn)]


def seq_gaps(pkts):
    ts = [p["t"] for p in pkts]
    return [round(b - a, 2) for a, b in zip(ts, ts[1:])]
