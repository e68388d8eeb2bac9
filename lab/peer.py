#!/usr/bin/env python3
"""One socket program for both lab roles (client and server).

It runs a script of socket actions and logs every socket call with what came
back, one JSON object per line, flushed at once (so a SIGKILL loses nothing):

    {"t": 0.123, "conn": "c1", "call": "send", "bytes": 1000, "result": "ok", "returned": 1000}

"t" is seconds since the scenario's t0 (given by the driver), "conn" the label
the script gave the socket. Errors are logged by errno name (errno.errorcode),
recv() returning b"" as "eof". SIGPIPE stays ignored (Python's default) so a
write to a reset connection surfaces as EPIPE.

Script (JSON): {"actors": [[action, ...], ...]}; each actor runs in its own
thread and shares one table of sockets by label. Actions are dicts with "op":
  listen    sock ip port [backlog=16] [family]        socket+bind+listen
  accept    sock as [timeout]
  connect   as ip port [src_ip] [src_port] [timeout]  socket+bind+connect
  send      sock [bytes=1000] [count=1] [gap=0] [text]
  fill      sock [chunk=1000] [timeout=0.5] [max=1000]  send until it blocks
  recv      sock [max=65536] [count=1] [timeout]
  recv_until_eof sock [timeout]  (stops at eof, error, or timeout)
  recv_exact sock n [timeout]
  recv_for  sock seconds   read whatever comes for that long (the final
                           wait that ends by the program's own deadline is not logged)
  shutdown  sock how=WR|RD|RDWR
  close     sock
  linger0   sock      SO_LINGER {1, 0}
  keepalive sock idle intvl cnt
  rcvbuf / sndbuf sock bytes
  user_timeout sock ms
  nodelay   sock
  sleep     s
  mark      name      log it and create <ctl>/<name> (the driver waits on it)
  wait      name [timeout=30]  wait for <ctl>/<name> (the driver creates it)
  exit                process exits without closing anything (os._exit)
  kill                SIGKILL itself (a crash)
"""
import argparse
import errno
import json
import os
import signal
import socket
import sys
import threading
import time

T0 = time.time()
LOG = None
LOG_LOCK = threading.Lock()
CTL = "."
SOCKS = {}
DEFAULT_TIMEOUT = 20.0


def log(conn, call, **kw):
    entry = {"t": round(time.time() - T0, 3), "conn": conn, "call": call}
    entry.update(kw)
    with LOG_LOCK:
        LOG.write(json.dumps(entry) + "\n")
        LOG.flush()


def err_name(e):
    # Python turns errno ETIMEDOUT into TimeoutError, the same class as its own socket
    # timeout: only errno tells the kernel's ETIMEDOUT from the program's deadline
    if e.errno is not None:
        return errno.errorcode.get(e.errno, str(e.errno))
    if isinstance(e, TimeoutError):
        return "timeout"
    return type(e).__name__


def call(conn, name, fn, describe=None, **kw):
    """Run one socket call and log it; return (ok, value)."""
    try:
        value = fn()
    except OSError as e:
        res = err_name(e)
        extra = {"note": "the program's own socket timeout expired (no error from the kernel)"} if res == "timeout" else {}
        log(conn, name, result=res, **kw, **extra)
        return False, e
    entry = dict(kw)
    if describe:
        entry.update(describe(value))
    log(conn, name, result=entry.pop("result", "ok"), **entry)
    return True, value


def family_of(ip):
    return socket.AF_INET6 if ":" in ip else socket.AF_INET


def payload(n, text=None):
    if text is not None:
        b = text.encode()
        return b
    return (b"0123456789abcdef" * (n // 16 + 1))[:n]


def act(a):
    op = a["op"]
    s = SOCKS.get(a.get("sock"))
    label = a.get("sock") or a.get("as")
    tmo = a.get("timeout", DEFAULT_TIMEOUT)
    if op == "listen":
        fam = family_of(a["ip"])
        ok, s = call(label, "socket", lambda: socket.socket(fam, socket.SOCK_STREAM), family="inet6" if fam == socket.AF_INET6 else "inet")
        SOCKS[label] = s
        call(label, "setsockopt", lambda: s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1), option="SO_REUSEADDR", value=1)
        for k, v in a.get("opts", {}).items():
            opt = getattr(socket, k)
            call(label, "setsockopt", lambda: s.setsockopt(socket.SOL_SOCKET, opt, v), option=k, value=v)
        call(label, "bind", lambda: s.bind((a["ip"], a["port"])), addr=f"{a['ip']}:{a['port']}")
        call(label, "listen", lambda: s.listen(a.get("backlog", 16)), backlog=a.get("backlog", 16))
    elif op == "accept":
        s.settimeout(tmo)
        ok, v = call(a["as"], "accept", s.accept, describe=lambda v: {"peer": f"{v[1][0]}:{v[1][1]}"}, listener=a["sock"])
        if ok:
            SOCKS[a["as"]] = v[0]
            v[0].settimeout(DEFAULT_TIMEOUT)
    elif op == "connect":
        fam = family_of(a["ip"])
        ok, s = call(label, "socket", lambda: socket.socket(fam, socket.SOCK_STREAM), family="inet6" if fam == socket.AF_INET6 else "inet")
        SOCKS[label] = s
        if a.get("src_port"):
            call(label, "setsockopt", lambda: s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1), option="SO_REUSEADDR", value=1)
            src = a.get("src_ip", "::" if fam == socket.AF_INET6 else "0.0.0.0")
            call(label, "bind", lambda: s.bind((src, a["src_port"])), addr=f"{src}:{a['src_port']}")
        s.settimeout(tmo)
        ok, _ = call(label, "connect", lambda: s.connect((a["ip"], a["port"])), addr=f"{a['ip']}:{a['port']}")
        s.settimeout(DEFAULT_TIMEOUT)
    elif op == "send":
        data = payload(a.get("bytes", 1000), a.get("text"))
        if "timeout" in a:
            s.settimeout(a["timeout"])
        for i in range(a.get("count", 1)):
            if i and a.get("gap"):
                time.sleep(a["gap"])
            call(label, "send", lambda: s.send(data), describe=lambda v: {"returned": v}, bytes=len(data))
    elif op == "fill":
        s.settimeout(a.get("timeout", 0.5))
        data = payload(a.get("chunk", 1000))
        for _ in range(a.get("max", 1000)):
            ok, v = call(label, "send", lambda: s.send(data), describe=lambda v: {"returned": v}, bytes=len(data))
            if not ok:
                break
        s.settimeout(DEFAULT_TIMEOUT)
    elif op in ("recv", "recv_until_eof", "recv_exact"):
        s.settimeout(tmo)
        got = 0
        n = 0
        while True:
            n += 1
            want = a.get("max", 65536)
            if op == "recv_exact":
                want = min(want, a["n"] - got)
            ok, v = call(label, "recv", lambda: s.recv(want),
                         describe=lambda v: {"bytes": len(v), "result": "ok" if v else "eof"}, max=want)
            if not ok or not v:
                break
            got += len(v)
            if op == "recv" and n >= a.get("count", 1):
                break
            if op == "recv_exact" and got >= a["n"]:
                break
        s.settimeout(DEFAULT_TIMEOUT)
    elif op == "recv_for":
        deadline = time.time() + a["seconds"]
        while True:
            left = deadline - time.time()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                v = s.recv(a.get("max", 65536))
            except socket.timeout:
                break
            except OSError as e:
                log(label, "recv", result=err_name(e), max=a.get("max", 65536))
                break
            log(label, "recv", result="ok" if v else "eof", bytes=len(v), max=a.get("max", 65536))
            if not v:
                break
        s.settimeout(DEFAULT_TIMEOUT)
    elif op == "shutdown":
        how = {"WR": socket.SHUT_WR, "RD": socket.SHUT_RD, "RDWR": socket.SHUT_RDWR}[a.get("how", "WR")]
        call(label, "shutdown", lambda: s.shutdown(how), how="SHUT_" + a.get("how", "WR"))
    elif op == "close":
        call(label, "close", s.close)
    elif op == "linger0":
        import struct
        call(label, "setsockopt", lambda: s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)),
             option="SO_LINGER", value=[1, 0])
    elif op == "keepalive":
        call(label, "setsockopt", lambda: s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1), option="SO_KEEPALIVE", value=1)
        for opt, key in (("TCP_KEEPIDLE", "idle"), ("TCP_KEEPINTVL", "intvl"), ("TCP_KEEPCNT", "cnt")):
            call(label, "setsockopt", lambda: s.setsockopt(socket.IPPROTO_TCP, getattr(socket, opt), a[key]), option=opt, value=a[key])
    elif op in ("rcvbuf", "sndbuf"):
        opt = "SO_RCVBUF" if op == "rcvbuf" else "SO_SNDBUF"
        call(label, "setsockopt", lambda: s.setsockopt(socket.SOL_SOCKET, getattr(socket, opt), a["bytes"]), option=opt, value=a["bytes"])
    elif op == "user_timeout":
        call(label, "setsockopt", lambda: s.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, a["ms"]), option="TCP_USER_TIMEOUT", value=a["ms"])
    elif op == "nodelay":
        call(label, "setsockopt", lambda: s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1), option="TCP_NODELAY", value=1)
    elif op == "sleep":
        time.sleep(a["s"])
    elif op == "mark":
        log(None, "mark", name=a["name"], result="ok")
        open(os.path.join(CTL, a["name"]), "w").close()
    elif op == "wait":
        path = os.path.join(CTL, a["name"])
        deadline = time.time() + a.get("timeout", 30)
        while not os.path.exists(path) and time.time() < deadline:
            time.sleep(0.002)
    elif op == "exit":
        log(None, "exit", result="process exits without close()")
        os._exit(0)
    elif op == "kill":
        log(None, "kill", result="SIGKILL to itself")
        os.kill(os.getpid(), signal.SIGKILL)
    else:
        raise SystemExit(f"unknown op {op}")


def run_actor(actions):
    for a in actions:
        act(a)


def main():
    global LOG, CTL, T0
    p = argparse.ArgumentParser()
    p.add_argument("--script", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--ctl", default=".")
    p.add_argument("--t0", type=float, default=None)
    args = p.parse_args()
    if args.t0:
        T0 = args.t0
    CTL = args.ctl
    LOG = open(args.log, "a")
    with open(args.script) as f:
        script = json.load(f)
    threads = [threading.Thread(target=run_actor, args=(acts,), daemon=True) for acts in script["actors"]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log(None, "exit", result="end of program: the kernel closes any socket still open")
    # sockets not closed explicitly are closed by process exit


if __name__ == "__main__":
    main()
