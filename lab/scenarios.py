"""Every scenario of the lab. Numbers n give the ports: server 5000+n, client 40000+10n (+k)."""
from scenario import (CLIENT4, CLIENT6, SERVER4, SERVER6, Conn, accept, calls, close, connect, fill,
                      keepalive, linger0, listen, mark, op, recv, recv_eof, recv_exact, recv_for, results,
                      scenario, send, shutdown, sleep, wait, seq_gaps)


def P(n):
    return 5000 + n, 40000 + 10 * n


def no_rst(w):
    return (not w.rsts(), "no RST at all")


def fin_both(w):
    return (bool(w.fins("c")) and bool(w.fins("s")), "FIN from both sides")


def handshake(w):
    return (bool(w.syns("c")) and bool(w.synacks()), "handshake captured (SYN, SYN-ACK)")


def rst_ends(w, d, with_ack):
    r = w.rsts(d)
    last = w.last()
    who = "client" if d == "c" else "server"
    ok = bool(r) and last is not None and "R" in last["flags"] and last["dir"] == d and (("A" in r[0]["flags"]) == with_ack)
    return (ok, f"last packet is a RST from the {who} {'with' if with_ack else 'without'} ACK")


def rst_seq_is_ack_of_trigger(w, d):
    """RST (no ACK) with seq = the ACK number of the segment it answers."""
    r = w.rsts(d)
    if not r:
        return (False, "RST seq equals the triggering segment's ACK number")
    other = "s" if d == "c" else "c"
    before = [p for p in w.tcp(other) if p["n"] < r[0]["n"]]
    ok = bool(before) and before[-1]["ack"] == r[0]["seq"]
    return (ok, "RST seq equals the triggering segment's ACK number")


def rst_seq_is_next(w, d):
    """RST+ACK with seq = the sender's next sequence number (after its last data / FIN)."""
    r = w.rsts(d)
    mine = [p for p in w.tcp(d) if p["n"] < r[0]["n"]] if r else []
    if not mine:
        return (False, "RST seq is the sender's next sequence number")
    last = mine[-1]
    nxt = last["seq"] + last["len"] + (1 if ("S" in last["flags"] or "F" in last["flags"]) else 0)
    nxt = max(nxt, max(p["seq"] + p["len"] + (1 if ("S" in p["flags"] or "F" in p["flags"]) else 0) for p in mine))
    return (r[0]["seq"] == nxt % 2**32, "RST seq is the sender's next sequence number")


def res(logs, role, conn="c1", call=None):
    return [e.get("result") for e in logs.get(role, []) if e.get("conn") == conn and (call is None or e["call"] == call)]


# ======================================================================= graceful endings
def _graceful(n, name, v6=False, pcapng=False, linktype=None, iface=None, snaplen=None, sends=5, size=1000, desc=None):
    sp, cp = P(n)
    ip = SERVER6 if v6 else SERVER4
    sip = SERVER6 if v6 else SERVER4
    return scenario(
        name=name,
        description=desc or f"The client sends {sends} x {size} bytes and closes; the server reads until EOF, then closes.",
        seed_case="server-2",
        conns=[Conn("c1", cp, sp, "graceful", None, "graceful_close", v6=v6)],
        server=[[listen(sp, ip=sip), mark("listening"), accept(), recv_eof(), close()]],
        client=[[connect(sp, cp, ip=ip), send(n=size, count=sends, gap=0.02), close()]],
        check=lambda W, L, _: [handshake(W["c1"]), fin_both(W["c1"]), no_rst(W["c1"]),
                               (W["c1"].fins()[0]["dir"] == "c", "the client's FIN comes first"),
                               ("eof" in res(L, "server", call="recv"), "server recv() returned EOF")],
        pcapng=pcapng, linktype=linktype, iface=iface, snaplen=snaplen,
    )


_graceful(1, "client-sends-then-closes")


def _unread_rst(n, name, v6=False, pcapng=False, linktype=None, iface=None, snaplen=None, size=1000, count=3, extra_note=""):
    sp, cp = P(n)
    sip = SERVER6 if v6 else SERVER4
    return scenario(
        name=name,
        description=f"The client sends {count} x {size} bytes the server never reads; the server sends a 200-byte last "
                    "message and closes: its kernel sends RST+ACK instead of FIN. The client then reads.",
        seed_case="client-3",
        conns=[Conn("c1", cp, sp, "reset", "server", "unread_data_on_close", v6=v6)],
        server=[[listen(sp, ip=sip), mark("listening"), accept(), wait("sent"), sleep(0.1),
                 send(n=200, text="last message from the server: please reconnect elsewhere".ljust(200, ".")), close()]],
        client=[[connect(sp, cp, ip=sip), send(n=size, count=count, gap=0.02), mark("sent"), sleep(0.4),
                 recv_eof(timeout=5), close()]],
        check=lambda W, L, _: [handshake(W["c1"]), rst_ends(W["c1"], "s", True), rst_seq_is_next(W["c1"], "s"),
                               (not W["c1"].fins("s"), "no FIN from the server"),
                               ("ECONNRESET" in res(L, "client", call="recv"), "client recv() got ECONNRESET")],
        notes="Linux keeps already-received data readable after the RST: the client reads the 200-byte last message "
              "first and only then gets ECONNRESET (the seeds' 'RST overtakes the last message' is Windows behaviour). "
              "Differs from TCP-ENDINGS.md: the server's advertised window does NOT shrink here: with a few KB unread in "
              "a fresh connection Linux keeps growing the offered window (rcv_ssthresh growth outpaces the unread "
              "bytes: 68608 -> 69632 in the reference run), so the window is no gauge of small amounts of unread data; "
              "only 'data received and acknowledged, never answered, then RST+ACK' separates it from abortive_close."
              + extra_note,
        pcapng=pcapng, linktype=linktype, iface=iface, snaplen=snaplen,
    )


_unread_rst(2, "server-closes-with-unread-data")


def _data_after_close(n, name, v6=False, linktype=None, iface=None, pcapng=False):
    sp, cp = P(n)
    sip = SERVER6 if v6 else SERVER4
    return scenario(
        name=name,
        description="The server accepts and closes at once (FIN). The client, not having looked, sends twice: the "
                    "first send succeeds and provokes a RST, the second fails with EPIPE; then it reads.",
        seed_case="client-1",
        conns=[Conn("c1", cp, sp, "reset", "server", "data_after_close", v6=v6)],
        server=[[listen(sp, ip=sip), mark("listening"), accept(), close()]],
        client=[[connect(sp, cp, ip=sip), sleep(0.3), send(n=100), sleep(0.2), send(n=100), recv(timeout=2), close()]],
        check=lambda W, L, _: [handshake(W["c1"]), (W["c1"].fins("s") and W["c1"].fins("s")[0]["n"] < W["c1"].data("c")[0]["n"],
                                                     "server FIN before the client's data"),
                               rst_ends(W["c1"], "s", False), rst_seq_is_ack_of_trigger(W["c1"], "s"),
                               (res(L, "client", call="send") == ["ok", "EPIPE"], "client sends: ok, then EPIPE")],
        notes="As TCP-ENDINGS.md says: the RST answering data after close carries no ACK and its seq is the "
              "offending segment's ACK number.",
        linktype=linktype, iface=iface, pcapng=pcapng,
    )


_data_after_close(3, "server-closed-client-sends-twice")


def _refused(n, name, v6=False):
    sp, cp = P(n)
    sip = SERVER6 if v6 else SERVER4
    return scenario(
        name=name,
        description="The client connects to a port nothing listens on; the server's kernel answers the SYN with RST+ACK.",
        seed_case=None,
        conns=[Conn("c1", cp, sp, "refused", "server", "refused", v6=v6, listener=None)],
        client=[[connect(sp, cp, ip=sip), close()]],
        check=lambda W, L, _: [(len(W["c1"].syns("c")) == 1 and not W["c1"].synacks(), "one SYN, no SYN-ACK"),
                               rst_ends(W["c1"], "s", True),
                               (W["c1"].rsts("s")[0]["ack"] == (W["c1"].syns("c")[0]["seq"] + 1) % 2**32 if W["c1"].rsts("s") else False,
                                "RST acks SYN seq+1"),
                               (res(L, "client", call="connect") == ["ECONNREFUSED"], "connect() -> ECONNREFUSED")],
        notes="reset_by is 'server': the RST came from the server host's kernel (no listener).",
    )


_refused(4, "connect-refused")


# ======================================================================= server side (§1 server 1-5)
def _vanish_drop(ctx, port):
    ctx.nft(f"add rule inet lab labfwd tcp dport {port} drop")
    ctx.nft(f"add rule inet lab labfwd tcp sport {port} drop")


def _client_vanishes_keepalive():
    sp, cp = P(5)

    def during(ctx):
        ctx.wait_mark("established")
        _vanish_drop(ctx, sp)
        ctx.go("vanished")
        ctx.peers["server"].wait(15)
        ctx.kill("client")  # its FIN is dropped by the router too

    return scenario(
        name="server-keepalive-client-vanished",
        description="The client connects and sends one request; then the path to it goes dead (router drops "
                    "everything both ways, as if the client host died). The server, blocked in recv() with "
                    "keepalive 1 s/1 s/3 probes, gets ETIMEDOUT.",
        seed_case="server-1",
        vantage="server",
        conns=[Conn("c1", cp, sp, "timeout", None, "keepalive_timeout")],
        server=[[listen(sp), mark("listening"), accept(), keepalive(idle=1, intvl=1, cnt=3), recv_exact(100),
                 mark("established"), recv(timeout=15), close()]],
        client=[[connect(sp, cp), send(n=100), wait("vanished"), sleep(8)]],
        during=during,
        check=lambda W, L, _: [handshake(W["c1"]),
                               (len([p for p in W["c1"].tcp("s") if p["keepalive"]]) == 3, "3 keep-alive probes from the server"),
                               rst_ends(W["c1"], "s", True),
                               (res(L, "server", call="recv")[-1] == "ETIMEDOUT", "server recv() -> ETIMEDOUT")],
        notes="Linux ends a keepalive timeout with a RST+ACK from the prober (seq = next seq), which the dead peer "
              "never gets; ending is 'timeout' (silence ended it), reset_by null (the prober's own farewell RST "
              "is not a reset by the peer). The probes carry seq = next - 1 and no data.",
        max_time=12,
    )


_client_vanishes_keepalive()


def _client_vanishes_retrans():
    sp, cp = P(6)

    def during(ctx):
        ctx.wait_mark("request-read")
        _vanish_drop(ctx, sp)
        ctx.go("vanished")
        ctx.peers["server"].wait(15)
        ctx.kill("client")  # its FIN is dropped by the router too

    return scenario(
        name="server-retransmission-client-vanished",
        description="The client sends a request; the path to it goes dead (router drops both ways); the server "
                    "sends its 1000-byte answer, retransmits it unanswered and finally gets ETIMEDOUT (tcp_retries2=3).",
        seed_case="server-1",
        vantage="server",
        sysctls={"server": {"net.ipv4.tcp_retries2": 3}},
        conns=[Conn("c1", cp, sp, "timeout", None, "retransmission_timeout")],
        server=[[listen(sp), mark("listening"), accept(), recv_exact(100), mark("request-read"), wait("vanished"),
                 send(n=1000), recv(timeout=15), close()]],
        client=[[connect(sp, cp), send(n=100), wait("vanished"), sleep(9)]],
        during=during,
        check=lambda W, L, _: [handshake(W["c1"]),
                               (len([p for p in W["c1"].data("s") if p["retrans"]]) >= 3, ">= 3 retransmissions of the server's data"),
                               (not W["c1"].rsts() and not W["c1"].fins(), "no FIN or RST at all"),
                               (res(L, "server", call="recv")[-1] == "ETIMEDOUT", "server recv() -> ETIMEDOUT")],
        notes="Linux ends a data retransmission timeout with no packet at all (no RST), as TCP-ENDINGS.md §2a says. "
              "With tcp_retries2=3 the give-up comes after 200+400+800+1600 ms of backoff (about 3 s of RTO budget).",
        varies="The number of retransmissions is fixed by tcp_retries2, their exact times by a few ms.",
        max_time=12,
    )


_client_vanishes_retrans()


def _client_exit(n, name, unread, killed):
    sp, cp = P(n)
    srv = [listen(sp), mark("listening"), accept()]
    if unread:
        srv += [send(n=100, text="welcome: server greeting the client never reads".ljust(100, "."))]
    srv += [recv_eof(timeout=10), close()]
    cli = [connect(sp, cp), sleep(0.1)]
    if killed:
        cli += [mark("sending"), send(n=1000, count=200, gap=0.02)]
    else:
        cli += [send(n=1000, count=5, gap=0.02), sleep(0.1), op("exit")]

    def during(ctx):
        if killed:
            ctx.wait_mark("sending")
            ctx.sleep(0.25)
            ctx.kill("client")

    if unread:
        conn = Conn("c1", cp, sp, "reset", "client", "unread_data_on_close")
        chk = lambda W, L, _: [handshake(W["c1"]), rst_ends(W["c1"], "c", True), rst_seq_is_next(W["c1"], "c"),
                               (not W["c1"].fins("c"), "no FIN from the client"),
                               (res(L, "server", call="recv")[-1] == "ECONNRESET", "server recv() -> ECONNRESET")]
        note = ("Linux: the client's kernel closes the socket at process death; a 100-byte greeting from the server "
                "was never read, so it sends RST+ACK instead of FIN. The server reads all the data that had arrived, "
                "then gets ECONNRESET (Linux keeps received data readable).")
    else:
        conn = Conn("c1", cp, sp, "graceful", None, "graceful_close")
        chk = lambda W, L, _: [handshake(W["c1"]), fin_both(W["c1"]), no_rst(W["c1"]),
                               (W["c1"].fins()[0]["dir"] == "c", "the client's FIN comes first"),
                               (res(L, "server", call="recv")[-1] == "eof", "server recv() -> EOF")]
        note = ("Linux: nothing the client had received was unread, so its kernel sends a normal FIN at process "
                "death: on the wire this is indistinguishable from close(). The seeds' 104/10054 for this case came "
                "from a Windows client.")
    how = "is killed with SIGKILL while sending (1000 bytes every 20 ms)" if killed else "sends 5 x 1000 bytes and exits without close()"
    return scenario(
        name=name,
        description=f"The client {how}"
                    + ("; a server greeting is still unread in its socket." if unread else "; it had nothing unread.")
                    + " The server only reads.",
        seed_case="server-4" if killed else "server-3",
        conns=[conn], server=[srv], client=[cli], during=during, check=chk, notes=note,
        varies="How many 1000-byte sends happen before the SIGKILL (about 12-14)." if killed else "",
    )


_client_exit(7, "client-exits-without-close", unread=False, killed=False)
_client_exit(8, "client-exits-with-unread-data", unread=True, killed=False)
_client_exit(9, "client-killed-while-sending", unread=True, killed=True)
_client_exit(10, "client-killed-nothing-unread", unread=False, killed=True)


def _server_sends_after_client_closed():
    sp, cp = P(11)
    return scenario(
        name="server-sends-after-client-closed",
        description="The client sends a 1000-byte request and closes. The server reads the request and, before "
                    "noticing the close, sends two 500-byte replies: the first provokes a RST from the client, the "
                    "second send fails with EPIPE.",
        seed_case="server-5",
        conns=[Conn("c1", cp, sp, "reset", "client", "data_after_close")],
        server=[[listen(sp), mark("listening"), accept(), recv_exact(1000), sleep(0.2), send(n=500), sleep(0.1),
                 send(n=500), recv(timeout=2), close()]],
        client=[[connect(sp, cp), send(n=1000), close()]],
        check=lambda W, L, _: [handshake(W["c1"]), (W["c1"].fins("c") and not W["c1"].fins("s"), "FIN from the client only"),
                               rst_ends(W["c1"], "c", False), rst_seq_is_ack_of_trigger(W["c1"], "c"),
                               (res(L, "server", call="send") == ["ok", "EPIPE"], "server sends: ok, then EPIPE")],
        notes="As TCP-ENDINGS.md says: the client's orphaned socket (FIN_WAIT2) answers data with a RST without ACK, "
              "seq = the data segment's ACK number; the server's next send gets EPIPE (SIGPIPE ignored).",
    )


_server_sends_after_client_closed()


# ======================================================================= client side (§1 client 1-3) and the incident
def _server_sends_closes_client_sends_then_reads():
    sp, cp = P(12)
    return scenario(
        name="server-sends-closes-client-sends-then-reads",
        description="The server sends 2000 bytes and closes. The client, not reading yet, sends one 100-byte message "
                    "(answered by RST), then reads.",
        seed_case="client-2",
        conns=[Conn("c1", cp, sp, "reset", "server", "data_after_close")],
        server=[[listen(sp), mark("listening"), accept(), send(n=1000, count=2, gap=0.01), close()]],
        client=[[connect(sp, cp), sleep(0.3), send(n=100), sleep(0.2), recv_eof(timeout=3), send(n=100), close()]],
        check=lambda W, L, _: [handshake(W["c1"]), rst_ends(W["c1"], "s", False), rst_seq_is_ack_of_trigger(W["c1"], "s"),
                               (W["c1"].fins("s") and W["c1"].fins("s")[0]["n"] < W["c1"].data("c")[0]["n"], "server FIN before the client's data")],
        notes="Linux (kernel 6.x): after the RST the client's recv() calls are logged in calls.client: see whether the "
              "2000 bytes come back and what ends the reads. TCP-ENDINGS.md §1 client-2 says 'Linux reads all the "
              "data and then a normal EOF'.",
    )


_server_sends_closes_client_sends_then_reads()


def _game(n, name, late):
    sp, cp = P(n)
    jump = "JUMP host=198.19.0.77 port=7777 token=abc123: please reconnect there".ljust(120, ".")
    if late:
        # the server reads every report, then right after one arrives it sends the jump and closes (FIN):
        # the next report (100 ms later) arrives after the close -> RST without ACK
        srv = [listen(sp), mark("listening"), accept(), recv_for(0.35), recv(max=50), send(n=120, text=jump), close()]
        gap = 0.1
    else:
        # the server stops reading at 0.3 s, 2-3 reports pile up unread, then it sends the jump and closes -> RST+ACK
        srv = [listen(sp), mark("listening"), accept(), recv_for(0.3), sleep(0.12), send(n=120, text=jump), close()]
        gap = 0.05
    cli = [[connect(sp, cp), mark("connected"), send(n=50, count=30, gap=gap), close()],
           [wait("connected"), sleep(0.01), recv_eof(timeout=5)]]
    if late:
        conn = Conn("c1", cp, sp, "reset", "server", "data_after_close")
        chk = lambda W, L, _: [handshake(W["c1"]), (bool(W["c1"].fins("s")), "server FIN"),
                               rst_ends(W["c1"], "s", False), rst_seq_is_ack_of_trigger(W["c1"], "s")]
        story = ("the server read every report, sent the jump message and closed (FIN); the client's next periodic "
                 "report arrived after the close and was answered by a RST without ACK.")
    else:
        conn = Conn("c1", cp, sp, "reset", "server", "unread_data_on_close")
        chk = lambda W, L, _: [handshake(W["c1"]), (not W["c1"].fins("s"), "no FIN from the server"),
                               rst_ends(W["c1"], "s", True), rst_seq_is_next(W["c1"], "s"),
                               (any(e.get("bytes") == 120 for e in calls(L, "client", call="recv")), "the client read the jump message")]
        story = ("the server stopped reading, 2-3 reports piled up unread, it sent the jump message and closed: RST+ACK "
                 "instead of FIN.")
    return scenario(
        name=name,
        description="Game server incident: the client sends a 50-byte report every "
                    f"{int(gap * 1000)} ms and reads in another thread; " + story,
        seed_case="incident",
        conns=[conn], server=[srv], client=cli, check=chk,
        notes="On Linux the client reads the whole jump message before the reset surfaces (recv then ECONNRESET or "
              "EOF, see calls): the seeds' 'the client never sees the last message' is Windows behaviour. The "
              "business flow ended normally; the reset comes from the close procedure.",
        varies="How many reports were sent before the close (and how many were unread) varies by one.",
    )


_game(13, "game-server-jump-then-close", late=False)
_game(14, "game-server-jump-then-close-late-report", late=True)


# ======================================================================= other cause codes
def _abortive(n, name, pcapng=False, linktype=None, iface=None):
    sp, cp = P(n)
    return scenario(
        name=name,
        description="The client sends a 1000-byte request; the server reads all of it, answers 500 bytes, sets "
                    "SO_LINGER {1, 0} and closes: RST+ACK with nothing unread.",
        seed_case=None,
        conns=[Conn("c1", cp, sp, "reset", "server", "abortive_close")],
        server=[[listen(sp), mark("listening"), accept(), recv_exact(1000), send(n=500), sleep(0.1), linger0(), close()]],
        client=[[connect(sp, cp), send(n=1000), sleep(0.3), recv_eof(timeout=3), close()]],
        check=lambda W, L, _: [handshake(W["c1"]), rst_ends(W["c1"], "s", True), rst_seq_is_next(W["c1"], "s"),
                               (not W["c1"].fins(), "no FIN"),
                               (res(L, "client", call="recv")[-1] == "ECONNRESET", "client recv() -> ECONNRESET after the data")],
        notes="The RST+ACK carries seq = the server's next sequence number. The server read everything and "
              "answered it before the RST; its advertised window is the same as in server-closes-with-unread-data "
              "(Linux does not shrink it for a few KB unread), so the window alone does not separate the two.",
        pcapng=pcapng, linktype=linktype, iface=iface,
    )


_abortive(15, "server-abortive-close-linger0")


def _syn_timeout(n, name, linear=True):
    sp, cp = P(n)
    sysctls = {"client": {"net.ipv4.tcp_syn_retries": 2}}
    if not linear:
        sysctls["client"]["net.ipv4.tcp_syn_linear_timeouts"] = 0
    return scenario(
        name=name,
        description="The router drops the client's SYNs (nft drop); the client retransmits the SYN "
                    + ("at a fixed 1 s interval (tcp_syn_retries=2, tcp_syn_linear_timeouts=4, the default)"
                       if linear else "with exponential backoff 1 s, 2 s (tcp_syn_retries=2, tcp_syn_linear_timeouts=0)")
                    + " and connect() fails with ETIMEDOUT.",
        seed_case=None,
        sysctls=sysctls,
        nft=[f"add rule inet lab labfwd tcp dport {sp} drop"],
        conns=[Conn("c1", cp, sp, "timeout", None, "syn_timeout", listener=None)],
        server=[[listen(sp), mark("listening"), sleep(12)]],
        client=[[connect(sp, cp), close()]],
        check=lambda W, L, _: [(len(W["c1"].syns("c")) == (6 if linear else 3), f"{6 if linear else 3} SYNs"),
                               (len({p["seq"] for p in W["c1"].syns("c")}) == 1, "all SYNs carry the same seq"),
                               (not W["c1"].tcp("s"), "nothing from the server"),
                               (all(0.9 < g < 1.1 for g in seq_gaps(W["c1"].syns("c"))[:5]) if linear else
                                [round(g) for g in seq_gaps(W["c1"].syns("c"))] == [1, 2], "SYN spacing " + ("1 s x5" if linear else "1 s, 2 s")),
                               (res(L, "client", call="connect") == ["ETIMEDOUT"], "connect() -> ETIMEDOUT")],
        notes=("Differs from TCP-ENDINGS.md in detail: this kernel (6.18) does not back off while the number of "
               "SYN timeouts is <= tcp_syn_linear_timeouts (default 4), i.e. the first FIVE retransmissions are 1 s "
               "apart; the linear retries are added to the retry count (max retransmissions = tcp_syn_retries + "
               "tcp_syn_linear_timeouts) but the give-up time is still the exponential budget of tcp_syn_retries "
               "(1+2+...+2^n s = 7 s for tcp_syn_retries=2). So here: 6 SYNs 1 s apart, ETIMEDOUT at ~7 s; with the "
               "defaults (6 + 4): 11 SYNs (1 s x5, then 2, 4, 8, 16, 32 s) and ETIMEDOUT after ~127 s." if linear else
               "With tcp_syn_linear_timeouts=0 the backoff is exponential (1 s, 2 s), then connect() gives up 4 s "
               "after the last SYN: the same ~7 s budget as with linear retries, but 3 SYNs instead of 6."),
        max_time=10,
        server_grace=0.1,
    )


_syn_timeout(16, "syn-dropped-timeout", linear=True)
_syn_timeout(17, "syn-dropped-timeout-exponential", linear=False)


def _syn_unreach():
    sp, cp = P(18)
    return scenario(
        name="syn-host-unreachable",
        description="The router answers the client's SYN with ICMP host unreachable (nft reject with icmp type "
                    "host-unreachable); connect() fails.",
        seed_case=None,
        nft=[f"add rule inet lab labfwd tcp dport {sp} reject with icmp type host-unreachable"],
        conns=[Conn("c1", cp, sp, "timeout", None, "syn_timeout", listener=None,
                    note="ended by an ICMP error quoting the SYN, not by silence; 'timeout' is the nearest ending")],
        client=[[connect(sp, cp), close()]],
        check=lambda W, L, _: [(len(W["c1"].syns("c")) >= 1, "SYN sent"),
                               (len(W["c1"].icmp()) >= 1, "ICMP unreachable quoting it"),
                               (not W["c1"].tcp("s"), "nothing from the server"),
                               (res(L, "client", call="connect")[-1] in ("EHOSTUNREACH", "ETIMEDOUT"), "connect() -> EHOSTUNREACH or ETIMEDOUT")],
        notes="Linux treats ICMP host unreachable for a SYN_SENT socket as a hard error: connect() fails at once "
              "with EHOSTUNREACH after one SYN (see calls; no retransmissions).",
        max_time=10,
    )


_syn_unreach()


def _peer_vanishes_retrans():
    sp, cp = P(19)

    def during(ctx):
        ctx.wait_mark("exchanged")
        _vanish_drop(ctx, sp)
        ctx.go("vanished")

    return scenario(
        name="peer-vanishes-retransmission-timeout",
        description="After one request/answer exchange the path to the server goes dead (router drops both ways, "
                    "as if the server host died). The client sends 1000 bytes, retransmits them unanswered and "
                    "gets ETIMEDOUT (tcp_retries2=3).",
        seed_case=None,
        sysctls={"client": {"net.ipv4.tcp_retries2": 3}},
        conns=[Conn("c1", cp, sp, "timeout", None, "retransmission_timeout")],
        server=[[listen(sp), mark("listening"), accept(), recv_exact(100), send(n=100), recv(timeout=15)]],
        client=[[connect(sp, cp), send(n=100), recv_exact(100), mark("exchanged"), wait("vanished"), send(n=1000),
                 recv(timeout=15), close()]],
        during=during,
        check=lambda W, L, _: [handshake(W["c1"]),
                               (len([p for p in W["c1"].data("c") if p["retrans"]]) >= 3, ">= 3 retransmissions of the client's data"),
                               (not W["c1"].rsts() and not W["c1"].fins(), "no FIN or RST"),
                               (res(L, "client", call="recv")[-1] == "ETIMEDOUT", "client recv() -> ETIMEDOUT"),
                               (bool(W["c2"].rsts("s")), "marker connection refused after the stall")],
        notes="Linux gives up silently: no RST after the last retransmission (TCP-ENDINGS.md §2a).",
        max_time=12, server_grace=0.1,
    )


_peer_vanishes_retrans()


def _peer_vanishes_keepalive():
    sp, cp = P(20)

    def during(ctx):
        ctx.wait_mark("exchanged")
        _vanish_drop(ctx, sp)
        ctx.go("vanished")

    return scenario(
        name="peer-vanishes-keepalive-timeout",
        description="The client enables keepalive (idle 1 s, interval 1 s, 3 probes), exchanges one request/answer, "
                    "then the path to the server goes dead. The client, blocked in recv(), gets ETIMEDOUT.",
        seed_case=None,
        conns=[Conn("c1", cp, sp, "timeout", None, "keepalive_timeout")],
        server=[[listen(sp), mark("listening"), accept(), recv_exact(100), send(n=100), recv(timeout=15)]],
        client=[[connect(sp, cp), keepalive(idle=1, intvl=1, cnt=3), send(n=100), recv_exact(100), mark("exchanged"),
                 wait("vanished"), recv(timeout=15), close()]],
        during=during,
        check=lambda W, L, _: [handshake(W["c1"]),
                               (len([p for p in W["c1"].tcp("c") if p["keepalive"]]) == 3, "3 keep-alive probes from the client"),
                               rst_ends(W["c1"], "c", True),
                               (res(L, "client", call="recv")[-1] == "ETIMEDOUT", "client recv() -> ETIMEDOUT"),
                               (bool(W["c2"].rsts("s")), "marker connection refused after the stall")],
        notes="As TCP-ENDINGS.md §2a says, the prober ends with a RST+ACK of its own after the last unanswered probe. "
              "ending 'timeout', reset_by null: the connection died of silence; the prober's farewell RST never "
              "reaches the dead peer.",
        max_time=12, server_grace=0.1,
    )


_peer_vanishes_keepalive()


def _server_state_lost():
    sp, cp = P(21)

    def during(ctx):
        ctx.wait_mark("exchanged")
        ctx.nft(f"add rule inet lab labfwd ip saddr {SERVER4} tcp sport {sp} drop")
        ctx.go("lose")
        ctx.wait_mark("gone")
        ctx.sleep(0.1)
        ctx.nft_flush()
        ctx.go("talk")

    return scenario(
        name="server-lost-state",
        description="After one exchange the server's socket disappears without a trace on the wire (it aborts "
                    "while the router drops its packets: like a reboot). After an idle second the client sends "
                    "again; the server's kernel no longer knows the connection and answers with a RST without ACK.",
        seed_case=None,
        conns=[Conn("c1", cp, sp, "reset", "server", "peer_lost_state")],
        server=[[listen(sp), mark("listening"), accept(), recv_exact(100), send(n=100), wait("lose"), linger0(), close(),
                 mark("gone"), sleep(3)]],
        client=[[connect(sp, cp), send(n=100), recv_exact(100), mark("exchanged"), wait("talk"), sleep(1.0), send(n=100),
                 recv(timeout=3), close()]],
        during=during,
        check=lambda W, L, _: [handshake(W["c1"]), rst_ends(W["c1"], "s", False), rst_seq_is_ack_of_trigger(W["c1"], "s"),
                               (not W["c1"].fins(), "no FIN"),
                               (res(L, "client", call="recv")[-1] == "ECONNRESET", "client recv() -> ECONNRESET")],
        notes="Reply to a segment for an unknown connection: RST without ACK, seq = the segment's ACK number "
              "(TCP-ENDINGS.md agrees). The server's own RST from its abort was dropped by the router, so it "
              "is not in the capture.",
        server_grace=0.1,
    )


_server_state_lost()


def _middlebox():
    sp, cp = P(22)

    def during(ctx):
        ctx.wait_mark("exchanged")
        ctx.nft(f"add rule inet lab labfwd ip saddr {CLIENT4} tcp dport {sp} reject with tcp reset")
        ctx.go("blocked")

    return scenario(
        name="middlebox-forged-reset",
        description="After one exchange the router starts rejecting the client's packets with a forged TCP reset "
                    "(nft reject with tcp reset). The client's next 100 bytes are answered by a RST that claims to "
                    "come from the server but was made by the router.",
        seed_case=None,
        conns=[Conn("c1", cp, sp, "reset", "middlebox", "middlebox_reset")],
        server=[[listen(sp), mark("listening"), accept(), recv_exact(100), send(n=100), recv(timeout=5)]],
        client=[[connect(sp, cp), send(n=100), recv_exact(100), mark("exchanged"), wait("blocked"), sleep(0.2),
                 send(n=100), recv(timeout=3), close()]],
        during=during,
        check=lambda W, L, _: [handshake(W["c1"]), rst_ends(W["c1"], "s", False),
                               (W["c1"].rsts("s") and W["c1"].rsts("s")[0]["ttl"] not in W["c1"].ttls("s"),
                                "the RST's TTL differs from every other server packet's TTL"),
                               (res(L, "client", call="recv")[-1] == "ECONNRESET", "client recv() -> ECONNRESET")],
        notes="The forged RST has TTL 64 (made by the router, 0 hops) while the server's packets arrive with TTL 63. "
              "nft's reject builds it like a kernel reply to an unknown connection: no ACK flag, seq = the client "
              "segment's ACK number, so it is accepted. The server never hears of it (its socket stays established).",
        server_grace=0.1,
    )


_middlebox()


def _idle(n, name, reject):
    sp, cp = P(n)
    verdict = "reject with tcp reset" if reject else "drop"
    return scenario(
        name=name,
        description="A stateful firewall on the router (conntrack, established timeout 2 s, no loose pickup) lets "
                    "the connection through. The client exchanges once, stays idle 3.5 s, then sends: the firewall "
                    "has forgotten the connection and " + ("answers with a forged RST." if reject else
                                                           "silently drops it; the client retransmits until ETIMEDOUT."),
        seed_case=None,
        sysctls={"router": {"net.netfilter.nf_conntrack_tcp_timeout_established": 2,
                            "net.netfilter.nf_conntrack_tcp_loose": 0},
                 "client": {"net.ipv4.tcp_retries2": 3}},
        nft=["add rule inet lab labfwd ct state established,related accept",
             "add rule inet lab labfwd ct state new tcp flags & (syn|ack) == syn accept",
             f"add rule inet lab labfwd meta l4proto tcp {verdict}"],
        conns=[Conn("c1", cp, sp, "reset" if reject else "timeout", "middlebox" if reject else None, "idle_timeout")],
        server=[[listen(sp), mark("listening"), accept(), recv_exact(100), send(n=100), recv(timeout=12)]],
        client=[[connect(sp, cp), send(n=100), recv_exact(100), sleep(3.5), send(n=100), recv(timeout=10), close()]],
        check=(lambda W, L, _: [handshake(W["c1"]), rst_ends(W["c1"], "s", False),
                                (W["c1"].rsts("s") and W["c1"].rsts("s")[0]["ttl"] not in W["c1"].ttls("s"), "RST TTL differs from the server's"),
                                (W["c1"].data("c")[-1]["t"] - W["c1"].data("s")[-1]["t"] > 3, "idle gap > 3 s before the last data"),
                                (res(L, "client", call="recv")[-1] == "ECONNRESET", "client recv() -> ECONNRESET")])
        if reject else
        (lambda W, L, _: [handshake(W["c1"]), (not W["c1"].rsts() and not W["c1"].fins(), "no FIN or RST"),
                          (len([p for p in W["c1"].data("c") if p["retrans"]]) >= 3, ">= 3 retransmissions"),
                          (W["c1"].data("c")[-1]["t"] - W["c1"].data("s")[-1]["t"] > 3, "idle gap > 3 s before the last data"),
                          (res(L, "client", call="recv")[-1] == "ETIMEDOUT", "client recv() -> ETIMEDOUT")]),
        notes="The firewall's RST is made by the router (TTL 64 against the server's 63)." if reject else
              "On the wire this ends like a retransmission timeout; only the idle gap before it says idle_timeout.",
        max_time=14, server_grace=0.1,
    )


_idle(23, "idle-timeout-firewall-reset", reject=True)
_idle(24, "idle-timeout-firewall-drop", reject=False)


def _still_open():
    sp, cp = P(25)

    def during(ctx):
        ctx.wait_mark("idle")
        ctx.sleep(1.0)

    return scenario(
        name="established-still-open",
        description="Request and answer, then both sides idle; the capture stops after 1 s of idle while the "
                    "connection is still established.",
        seed_case=None,
        conns=[Conn("c1", cp, sp, "unfinished", None, "still_open")],
        server=[[listen(sp), mark("listening"), accept(), recv_exact(500), send(n=1500), recv(timeout=30)]],
        client=[[connect(sp, cp), send(n=500), recv_exact(1500), mark("idle"), sleep(30)]],
        during=during, stop_capture_first=True,
        check=lambda W, L, _: [handshake(W["c1"]), (not W["c1"].rsts() and not W["c1"].fins(), "no FIN or RST")],
        notes="The programs are killed only after tcpdump stopped.",
    )


_still_open()


def _half_close():
    sp, cp = P(26)
    return scenario(
        name="half-close",
        description="The client sends a 1000-byte request and shutdown(SHUT_WR) (FIN); the server reads to EOF, "
                    "then sends 4 x 1000 bytes of answer over the half-closed connection and closes; the client reads "
                    "to EOF and closes.",
        seed_case=None,
        conns=[Conn("c1", cp, sp, "graceful", None, "graceful_close")],
        server=[[listen(sp), mark("listening"), accept(), recv_eof(), send(n=1000, count=4, gap=0.02), close()]],
        client=[[connect(sp, cp), send(n=1000), shutdown("WR"), recv_eof(), close()]],
        check=lambda W, L, _: [handshake(W["c1"]), fin_both(W["c1"]), no_rst(W["c1"]),
                               (W["c1"].fins("c")[0]["n"] < W["c1"].data("s")[0]["n"], "server data after the client's FIN"),
                               (len(W["c1"].data("s")) == 4, "4 server data segments")],
    )


_half_close()


def _simultaneous():
    sp, cp = P(27)

    def during(ctx):
        ctx.wait_mark("ready-c")
        ctx.wait_mark("ready-s")
        ctx.nft(f"add rule inet lab labfwd tcp dport {sp} tcp flags & fin == fin drop")
        ctx.nft(f"add rule inet lab labfwd tcp sport {sp} tcp flags & fin == fin drop")
        ctx.go("close")
        ctx.sleep(0.1)
        ctx.nft_flush()

    return scenario(
        name="simultaneous-close",
        description="Both sides close at the same moment. To make their FINs cross deterministically the router drops "
                    "FINs for 100 ms, so each side's FIN arrives (as a retransmission) while its own FIN is still "
                    "unacknowledged: FIN_WAIT1 -> CLOSING -> TIME_WAIT on both sides.",
        seed_case=None,
        conns=[Conn("c1", cp, sp, "graceful", None, "graceful_close")],
        server=[[listen(sp), mark("listening"), accept(), recv_exact(100), send(n=100), mark("ready-s"), wait("close"), close(),
                 sleep(1.5)]],
        client=[[connect(sp, cp), send(n=100), recv_exact(100), mark("ready-c"), wait("close"), close(), sleep(1.5)]],
        during=during,
        check=lambda W, L, _: [handshake(W["c1"]), fin_both(W["c1"]), no_rst(W["c1"]),
                               (any(p["ack"] == W["c1"].fins("c")[0]["seq"] for p in W["c1"].fins("s")),
                                "the server's FIN does not acknowledge the client's FIN (sent before it was seen)")],
        notes="The first FIN from the server never reaches the client (dropped by the router), so the capture at "
              "the client shows the client's FIN, its retransmission, and the server's retransmitted FIN whose ACK "
              "number does not cover the client's FIN.",
        varies="Which side's FIN retransmission gets through first (both RTOs are ~200 ms) can vary.",
    )


_simultaneous()


def _fin_rst_tail():
    sp, cp = P(28)
    return scenario(
        name="fin-then-rst-tail",
        description="The server answers a request, shuts down its sending side (FIN), and 300 ms later closes with "
                    "SO_LINGER {1, 0} (RST+ACK) while the client, having read EOF, has not closed yet.",
        seed_case=None,
        conns=[Conn("c1", cp, sp, "reset", "server", "graceful_close",
                    note="graceful_close with a FIN+RST tail (TCP-ENDINGS.md §2 variant)")],
        server=[[listen(sp), mark("listening"), accept(), recv_exact(1000), send(n=1000), shutdown("WR"), sleep(0.3),
                 linger0(), close()]],
        client=[[connect(sp, cp), send(n=1000), recv_eof(), sleep(0.6), send(n=10), close()]],
        check=lambda W, L, _: [handshake(W["c1"]), (bool(W["c1"].fins("s")), "server FIN"),
                               rst_ends(W["c1"], "s", True),
                               (W["c1"].fins("s")[0]["n"] < W["c1"].rsts("s")[0]["n"] if W["c1"].rsts("s") and W["c1"].fins("s") else False, "FIN, then RST from the server"),
                               (not [p for p in W["c1"].data("c") if p["n"] > W["c1"].fins("s")[0]["n"]] if W["c1"].fins("s") else False,
                                "no client data between the server's FIN and RST")],
        notes="The RST+ACK's seq is the server's FIN seq + 1. The client's later send gets EPIPE (see calls).",
    )


_fin_rst_tail()


def _port_reuse():
    sp, cp = P(29)
    return scenario(
        name="port-reuse-same-4-tuple",
        description="Two connections on the same 4-tuple: the first ends gracefully with the server closing first "
                    "(server in TIME_WAIT); 300 ms later the client connects again from the same port (the server's "
                    "TIME_WAIT accepts the new SYN) and this time aborts with SO_LINGER {1, 0}.",
        seed_case=None,
        conns=[Conn("c1", cp, sp, "graceful", None, "graceful_close"),
               Conn("c2", cp, sp, "reset", "client", "abortive_close")],
        server=[[listen(sp), mark("listening"), accept("c1"), recv_exact(1000, "c1"), send("c1", n=1000), close("c1"),
                 accept("c2"), recv_eof("c2", timeout=5), close("c2")]],
        client=[[connect(sp, cp, "c1"), send("c1", n=1000), recv_eof("c1"), close("c1"), sleep(0.3),
                 connect(sp, cp, "c2"), send("c2", n=500), sleep(0.1), linger0("c2"), close("c2")]],
        check=lambda W, L, _: [(len(W["c1"].syns("c")) == 2 and len(W["c1"].synacks()) == 2, "two handshakes on one 4-tuple"),
                               (bool(W["c1"].fins("s")) and bool(W["c1"].fins("c")), "first connection: FIN both ways"),
                               rst_ends(W["c1"], "c", True)],
        notes="Both connections carry the same label in this lab's wire check; the expected file lists them in order.",
    )


_port_reuse()


def _zero_window(n, name, ending):
    sp, cp = P(n)
    srv = [listen(sp, SO_RCVBUF=2048), mark("listening"), accept(), wait("end", timeout=20)]
    cli = [connect(sp, cp), {"op": "sndbuf", "sock": "c1", "bytes": 4096}, fill(timeout=0.5), mark("filled")]

    def during(ctx):
        ctx.wait_mark("filled")
        ctx.sleep(2.5)
        ctx.go("end")

    if ending == "receiver-closes":
        srv += [close()]
        cli += [recv(timeout=10), send(n=1000), close()]
        conn = Conn("c1", cp, sp, "reset", "server", "unread_data_on_close")
        chk = lambda W, L, _: [handshake(W["c1"]), (any(p["win"] == 0 for p in W["c1"].tcp("s")), "server advertises a zero window"),
                               (sum(1 for p in W["c1"].tcp("c") if p["zwp"] or p["keepalive"]) >= 2, ">= 2 zero-window probes"),
                               rst_ends(W["c1"], "s", True),
                               (res(L, "client", call="recv")[-1] == "ECONNRESET", "client recv() -> ECONNRESET")]
        desc = "then the server closes with all that data unread: RST+ACK."
    elif ending == "sender-aborts":
        srv += [sleep(1), recv(timeout=1)]
        cli += [wait("end"), linger0(), close()]
        conn = Conn("c1", cp, sp, "reset", "client", "abortive_close")
        chk = lambda W, L, _: [handshake(W["c1"]), (any(p["win"] == 0 for p in W["c1"].tcp("s")), "server advertises a zero window"),
                               (sum(1 for p in W["c1"].tcp("c") if p["zwp"] or p["keepalive"]) >= 2, ">= 2 zero-window probes"),
                               rst_ends(W["c1"], "c", True)]
        desc = "then the client gives up (application timeout) and aborts with SO_LINGER {1, 0}: RST+ACK."
    return scenario(
        name=name,
        description="The server (SO_RCVBUF 2048) never reads; the client fills the window until send() blocks; "
                    "its kernel sends zero-window probes for 2.5 s; " + desc,
        seed_case=None,
        conns=[conn], server=[srv], client=[cli], during=during, check=chk,
        notes="Linux zero-window probes are 0-byte segments with seq = next - 1 (Wireshark may label them "
              "keep-alives or zero-window probes); the probes are answered with zero-window ACKs, so the "
              "persist timer never times out by itself.",
        varies="How many bytes fit before the window closes and how many probes fit in 2.5 s (backoff from ~200 ms).",
        max_time=12,
    )


_zero_window(30, "zero-window-receiver-closes", "receiver-closes")
_zero_window(31, "zero-window-sender-aborts", "sender-aborts")


# ======================================================================= listen queue overflow
def _overflow(n, name, abort, conns, desc, notes, check, gap=0.1, nclients=5):
    sp, cp0 = P(n)
    cli = []
    for k in range(nclients):
        lab = f"c{k + 1}"
        cli.append([sleep(round(gap * k, 3)), connect(sp, cp0 + k, lab, timeout=12), send(lab, n=100), recv(lab, timeout=12),
                    close(lab)])
    return scenario(
        name=name, description=desc, seed_case=None,
        sysctls={"server": {"net.ipv4.tcp_abort_on_overflow": 1 if abort else 0, "net.ipv4.tcp_synack_retries": 2},
                 "client": {"net.ipv4.tcp_retries2": 3, "net.ipv4.tcp_syn_retries": 1}},
        conns=conns,
        server=[[listen(sp, backlog=1), mark("listening"), sleep(12)]],
        client=cli, check=check, notes=notes, max_time=14, server_grace=0.1,
    )


def _overflow_gated(n, name, abort):
    """Five clients connect 50 ms apart to a listener with backlog 1 whose program never accept()s. The router
    holds back every client segment after the SYN (a gate on the client ports) so all five SYNs are answered
    first: the first two get ordinary request sockets, the last three SYN cookies (the SYN queue is "full").
    Then the gate opens for c3 and c4 (they fill the accept queue), and 1 s later for c1, c2 and c5, which
    overflow it."""
    sp, cp = P(n)
    ports = [cp + k for k in range(5)]
    cli = [[sleep(round(0.05 * k, 3)), connect(sp, cp + k, f"c{k + 1}", timeout=12), mark(f"conn{k + 1}"),
            send(f"c{k + 1}", n=100), recv(f"c{k + 1}", timeout=12), close(f"c{k + 1}")] for k in range(5)]

    def during(ctx):
        for k in range(5):
            ctx.wait_mark(f"conn{k + 1}")
        ctx.sleep(0.05)
        ctx.nft(f"delete element inet lab gate {{ {ports[2]}, {ports[3]} }}")
        ctx.sleep(1.0)
        ctx.nft(f"delete element inet lab gate {{ {ports[0]}, {ports[1]}, {ports[4]} }}")
        ctx.sleep(7.0)

    if abort:
        c12 = [Conn(f"c{k}", ports[k - 1], sp, "reset", "server", "listen_overflow",
                    note="request socket (not a cookie): tcp_abort_on_overflow=1 answers the ACK with RST") for k in (1, 2)]
        chk12 = lambda W: [(bool(W[c].rsts("s")) and "A" not in W[c].rsts("s")[0]["flags"] and not W[c].data("s"),
                            f"{c}: RST without ACK from the server, no server data") for c in ("c1", "c2")]
    else:
        c12 = [Conn(f"c{k}", ports[k - 1], sp, "timeout", None, "listen_overflow",
                    note="request socket: the server retransmits its SYN-ACK, the client's data is never acknowledged")
               for k in (1, 2)]
        chk12 = lambda W: [(len(W[c].synacks()) >= 2 and not W[c].rsts() and
                            not any(p["ack"] and p["ack"] > W[c].syns("c")[0]["seq"] + 1 for p in W[c].tcp("s")),
                            f"{c}: SYN-ACK retransmitted, data never acknowledged, no RST") for c in ("c1", "c2")]
    conns = c12 + [
        Conn("c3", ports[2], sp, "unfinished", None, "still_open",
             note="incidental: completed (SYN cookie), sits in the accept queue, its data acknowledged but never read"),
        Conn("c4", ports[3], sp, "unfinished", None, "still_open",
             note="incidental: completed (SYN cookie), sits in the accept queue, its data acknowledged but never read"),
        Conn("c5", ports[4], sp, "timeout", None, "listen_overflow",
             note="SYN cookie: no request socket, so no SYN-ACK retransmission and no RST even with "
                  "tcp_abort_on_overflow=1; the data is silently dropped until the client gives up"),
    ]

    def check(W, L, _):
        out = chk12(W)
        out += [(bool(W[c].data("c")) and any(p["ack"] == W[c].data("c")[0]["seq"] + 100 for p in W[c].tcp("s")),
                 f"{c}: data acknowledged by the server's kernel") for c in ("c3", "c4")]
        out += [(len(W["c5"].synacks()) == 1 and not W["c5"].rsts() and len([p for p in W["c5"].data("c") if p["retrans"]]) >= 3,
                 "c5: one SYN-ACK, data retransmitted unacknowledged, no RST")]
        out += [(res(L, "client", "c5", "recv")[-1:] == ["ETIMEDOUT"], "c5: recv() -> ETIMEDOUT")]
        return out

    return scenario(
        name=name,
        description="Listen queue overflow, tcp_abort_on_overflow=" + ("1" if abort else "0") + ": " + _overflow_gated.__doc__.strip().replace("\n   ", " ").replace("  ", " "),
        seed_case=None,
        sysctls={"server": {"net.ipv4.tcp_abort_on_overflow": 1 if abort else 0, "net.ipv4.tcp_synack_retries": 2,
                            "net.ipv4.tcp_syncookies": 1},
                 "client": {"net.ipv4.tcp_retries2": 3}},
        nft=[f"add set inet lab gate {{ type inet_service; elements = {{ {', '.join(map(str, ports))} }}; }}",
             f"add rule inet lab labfwd ip saddr {CLIENT4} tcp sport @gate tcp flags & (syn|ack) == ack drop"],
        conns=conns,
        server=[[listen(sp, backlog=1), mark("listening"), sleep(20)]],
        client=cli, during=during, stop_capture_first=True, check=check,
        notes=("Linux: with backlog 1 the SYN queue takes 2 request sockets, further SYNs get SYN cookies "
               "(TcpExtTCPReqQFullDoCookies). Overflow of the accept queue at ACK time: "
               + ("with tcp_abort_on_overflow=1 a request-socket connection gets a RST without ACK (seq = the "
                  "client segment's ACK number) on its first data, before any server data; a SYN-cookie "
                  "connection gets NO RST (the kernel drops the cookie ACK silently) and times out like "
                  "tcp_abort_on_overflow=0." if abort else
                  "request-socket connections see the server retransmit its SYN-ACK while their data is never "
                  "acknowledged; SYN-cookie connections see nothing at all. No RST for either.")
               + " The capture stops before the server program exits (at exit its kernel would reset c3 and c4)."),
        varies="Stable by construction (the router gate orders the handshakes); retransmission counts may differ by one.",
        max_time=14, server_grace=0.1,
    )


_overflow_gated(32, "listen-overflow-syncookies", abort=False)
_overflow_gated(33, "listen-overflow-abort-rst", abort=True)


def _overflow_syn_drop():
    sp, cp = P(34)
    ports = [cp + k for k in range(5)]
    cli = [[sleep(round(0.1 * k, 3)), connect(sp, cp + k, f"c{k + 1}", timeout=12), send(f"c{k + 1}", n=100),
            recv(f"c{k + 1}", timeout=12), close(f"c{k + 1}")] for k in range(5)]

    def during(ctx):
        ctx.sleep(8.0)

    conns = [Conn(f"c{k}", ports[k - 1], sp, "unfinished", None, "still_open",
                  note="incidental: in the accept queue, data acknowledged, never accepted") for k in (1, 2)]
    conns += [Conn(f"c{k}", ports[k - 1], sp, "timeout", None, "listen_overflow",
                   note="the accept queue was already full when its SYN came: SYN dropped silently; on the wire "
                        "this looks exactly like syn_timeout, only the same port accepting other connections "
                        "just before tells it apart") for k in (3, 4, 5)]
    return scenario(
        name="listen-overflow-syn-dropped",
        description="Five clients connect 100 ms apart to a listener with backlog 1 whose program never accept()s: "
                    "the first two complete and wait in the accept queue; the other three SYNs are dropped "
                    "(accept queue full) and retransmitted until connect() fails with ETIMEDOUT.",
        seed_case=None,
        sysctls={"client": {"net.ipv4.tcp_syn_retries": 2}},
        conns=conns,
        server=[[listen(sp, backlog=1), mark("listening"), sleep(20)]],
        client=cli, during=during, stop_capture_first=True,
        check=lambda W, L, _: [(bool(W[c].synacks()) and bool(W[c].data("c")) and not W[c].rsts(), f"{c}: handshake, data, no RST")
                               for c in ("c1", "c2")] +
                              [(len(W[c].syns("c")) >= 5 and not W[c].tcp("s"), f"{c}: SYNs unanswered") for c in ("c3", "c4", "c5")] +
                              [(res(L, "client", c, "connect") == ["ETIMEDOUT"], f"{c}: connect() -> ETIMEDOUT") for c in ("c3", "c4", "c5")],
        notes="Linux drops a SYN when the accept queue is already full (TcpExtListenDrops), whatever "
              "tcp_abort_on_overflow says; TCP-ENDINGS.md's listen_overflow row does not mention this form.",
        max_time=14, server_grace=0.1,
    )


_overflow_syn_drop()


def _zero_window_user_timeout():
    sp, cp = P(35)
    srv = [listen(sp, SO_RCVBUF=2048), mark("listening"), accept(), sleep(6)]
    cli = [connect(sp, cp), {"op": "sndbuf", "sock": "c1", "bytes": 4096}, {"op": "user_timeout", "sock": "c1", "ms": 2000},
           fill(timeout=0.5), recv(timeout=10), close()]
    # A later refused connect to an unused port: it shows the capture was still running after the
    # stalled sender fell silent (a pcap file does not record when the capture stopped).
    marker = [sleep(5.0), connect(sp + 500, cp + 1, "c2", timeout=3), close("c2")]
    return scenario(
        name="zero-window-sender-user-timeout",
        description="The server (SO_RCVBUF 2048) never reads; the client (TCP_USER_TIMEOUT 2 s) fills the window and "
                    "its kernel probes the zero window; the probes are answered (still zero), and after 2 s without "
                    "progress the client's kernel gives up: recv() -> ETIMEDOUT.",
        seed_case=None,
        conns=[Conn("c1", cp, sp, "timeout", None, "unknown",
                    note="no §2 cause code covers a sender giving up on a zero-window stall while the peer still answers"),
               Conn("c2", cp + 1, sp + 500, "refused", "server", "refused", listener=None,
                    note="marker: proves the capture outlived the stalled connection")],
        server=[srv], client=[cli, marker],
        check=lambda W, L, _: [handshake(W["c1"]), (any(p["win"] == 0 for p in W["c1"].tcp("s")), "server advertises a zero window"),
                               (sum(1 for p in W["c1"].tcp("c") if p["zwp"] or p["keepalive"]) >= 2, ">= 2 zero-window probes"),
                               (not W["c1"].fins("c"), "no FIN from the client"),
                               (res(L, "client", call="recv")[-1] == "ETIMEDOUT", "client recv() -> ETIMEDOUT"),
                               (bool(W["c2"].rsts("s")), "marker connection refused after the stall")],
        notes="The connection ends without a FIN; see the wire for whether Linux sent a RST when the user timeout "
              "expired in the persist state. Cause 'unknown' on purpose: it is the lab's example of an ending none "
              "of the rules fits (the peer kept answering, so it is not a retransmission timeout).",
        max_time=10, server_grace=0.1,
    )


_zero_window_user_timeout()


# ======================================================================= IPv6 and capture-format variants
_graceful(50, "ipv6-client-sends-then-closes", v6=True)
_refused(51, "ipv6-connect-refused", v6=True)
_unread_rst(52, "ipv6-server-closes-with-unread-data", v6=True)
_data_after_close(53, "ipv6-server-closed-client-sends-twice", v6=True)
_abortive(54, "pcapng-server-abortive-close", pcapng=True)
_data_after_close(55, "cooked-sll-server-closed-client-sends-twice", iface="any", linktype="LINUX_SLL")
_graceful(56, "cooked-sll2-client-sends-then-closes", iface="any", linktype="LINUX_SLL2")
_unread_rst(57, "snaplen-96-server-closes-with-unread-data", snaplen=96, size=1400, count=8,
            extra_note=" Captured with -s 96: every frame is cut at 96 bytes, so the payload is mostly missing; "
                       "lengths must come from the IP header.")


# ======================================================================= the mixed capture
def _mixed():
    """24 concurrent connections, one listener thread per server port, one thread per client connection."""
    S_, C_, K_ = [], [], []   # server actors, client actors, expected conns
    rules = []

    def add(k, kind, v6=False):
        sp, cp = 6000 + k, 46000 + k
        sip = SERVER6 if v6 else SERVER4
        c, L = f"c{k}", f"L{k}"
        delay = sleep(round(0.03 * k, 3))
        srv = [listen(sp, ip=sip, sock=L), mark(f"listening{k}"), accept(c, L)]
        cli = [delay, connect(sp, cp, c, ip=sip, timeout=12)]
        if kind == "graceful-client-first":
            srv += [recv_eof(c), close(c)]
            cli += [send(c, n=1000, count=3, gap=0.02), close(c)]
            K_.append(Conn(c, cp, sp, "graceful", None, "graceful_close", v6, L))
        elif kind == "graceful-server-first":
            srv += [recv_exact(200, c), send(c, n=1000, count=2, gap=0.02), close(c)]
            cli += [send(c, n=200), recv_eof(c), close(c)]
            K_.append(Conn(c, cp, sp, "graceful", None, "graceful_close", v6, L))
        elif kind == "half-close":
            srv += [recv_eof(c), send(c, n=1000, count=3, gap=0.02), close(c)]
            cli += [send(c, n=300), shutdown("WR", c), recv_eof(c), close(c)]
            K_.append(Conn(c, cp, sp, "graceful", None, "graceful_close", v6, L))
        elif kind == "bulk":
            srv += [recv_exact(100, c), send(c, n=8000, count=6, gap=0.01), close(c)]
            cli += [send(c, n=100), recv_eof(c), close(c)]
            K_.append(Conn(c, cp, sp, "graceful", None, "graceful_close", v6, L))
        elif kind == "server-unread":
            srv += [sleep(0.3), send(c, n=150), close(c)]
            cli += [send(c, n=1000, count=2, gap=0.02), sleep(0.5), recv_eof(c, timeout=3), close(c)]
            K_.append(Conn(c, cp, sp, "reset", "server", "unread_data_on_close", v6, L))
        elif kind == "client-unread":
            srv += [send(c, n=300), recv_eof(c, timeout=5), close(c)]
            cli += [sleep(0.2), send(c, n=500), sleep(0.1), close(c)]
            K_.append(Conn(c, cp, sp, "reset", "client", "unread_data_on_close", v6, L))
        elif kind == "server-abort":
            srv += [recv_exact(400, c), send(c, n=400), sleep(0.1), linger0(c), close(c)]
            cli += [send(c, n=400), recv_eof(c, timeout=3), close(c)]
            K_.append(Conn(c, cp, sp, "reset", "server", "abortive_close", v6, L))
        elif kind == "client-abort":
            srv += [recv_eof(c, timeout=5), close(c)]
            cli += [send(c, n=400), sleep(0.2), linger0(c), close(c)]
            K_.append(Conn(c, cp, sp, "reset", "client", "abortive_close", v6, L))
        elif kind == "server-closed-client-sends":
            srv += [close(c)]
            cli += [sleep(0.3), send(c, n=100), sleep(0.2), send(c, n=100), close(c)]
            K_.append(Conn(c, cp, sp, "reset", "server", "data_after_close", v6, L))
        elif kind == "client-closed-server-sends":
            srv += [recv_exact(100, c), sleep(0.3), send(c, n=100), sleep(0.2), send(c, n=100), close(c)]
            cli += [send(c, n=100), close(c)]
            K_.append(Conn(c, cp, sp, "reset", "client", "data_after_close", v6, L))
        elif kind == "refused":
            srv = [mark(f"listening{k}")]
            cli += [close(c)]
            K_.append(Conn(c, cp, sp, "refused", "server", "refused", v6, None))
        elif kind == "syn-dropped":
            rules.append(f"add rule inet lab labfwd tcp dport {sp} drop")
            srv = [listen(sp, ip=sip, sock=L), mark(f"listening{k}")]
            cli += [close(c)]
            K_.append(Conn(c, cp, sp, "timeout", None, "syn_timeout", v6, L))
        elif kind == "middlebox":
            rules.append(f"add rule inet lab labfwd ip saddr {CLIENT4} tcp dport {sp} tcp flags & psh == psh reject with tcp reset")
            srv += [recv(c, timeout=8)]
            cli += [sleep(0.2), send(c, n=100), recv(c, timeout=3), close(c)]
            K_.append(Conn(c, cp, sp, "reset", "middlebox", "middlebox_reset", v6, L))
        elif kind == "retrans":
            rules.append(f"add rule inet lab labfwd ip saddr {CLIENT4} tcp dport {sp} tcp flags & psh == psh drop")
            srv += [recv(c, timeout=8)]
            cli += [sleep(0.2), send(c, n=1000), recv(c, timeout=8), close(c)]
            K_.append(Conn(c, cp, sp, "timeout", None, "retransmission_timeout", v6, L))
        elif kind == "still-open":
            srv += [recv_exact(100, c), send(c, n=100), recv(c, timeout=30)]
            cli += [send(c, n=100), recv_exact(100, c), sleep(30)]
            K_.append(Conn(c, cp, sp, "unfinished", None, "still_open", v6, L))
        elif kind == "fin-rst-tail":
            srv += [recv_exact(200, c), send(c, n=200), shutdown("WR", c), sleep(0.3), linger0(c), close(c)]
            cli += [send(c, n=200), recv_eof(c), sleep(30)]
            K_.append(Conn(c, cp, sp, "reset", "server", "graceful_close", v6, L, note="FIN+RST tail"))
        else:
            raise ValueError(kind)
        S_.append(srv)
        C_.append(cli)

    kinds = ["graceful-client-first", "graceful-server-first", "half-close", "bulk", "server-unread",
             "client-unread", "server-abort", "client-abort", "server-closed-client-sends",
             "client-closed-server-sends", "refused", "syn-dropped", "middlebox", "retrans", "still-open",
             "fin-rst-tail", "graceful-client-first", "server-unread", "refused", "still-open"]
    for i, kind in enumerate(kinds, start=1):
        add(i, kind)
    for i, kind in enumerate(["graceful-client-first", "refused", "server-abort", "server-unread"], start=21):
        add(i, kind, v6=True)
    # the first server actor marks "listening" after every listener is up
    first = S_[0]
    # first actor: listen, mark listening1, then wait for the others before the global mark
    i = [j for j, a in enumerate(first) if a.get("op") == "mark"][0]
    first.insert(i + 1, mark("listening"))
    for k in range(2, 25):
        first.insert(i + 1, wait(f"listening{k}"))

    def during(ctx):
        ctx.sleep(8.5)

    def check(W, L, _):
        out = []
        for cn in K_:
            w = W[cn.label]
            if cn.ending == "graceful":
                out.append((bool(w.fins("c")) and bool(w.fins("s")) and not w.rsts(), f"{cn.label} graceful: FIN both, no RST"))
            elif cn.ending == "refused":
                out.append((not w.synacks() and bool(w.rsts("s")), f"{cn.label} refused: RST, no SYN-ACK"))
            elif cn.ending == "reset":
                d = "c" if cn.reset_by == "client" else "s"
                out.append((bool(w.rsts(d)), f"{cn.label} reset by {cn.reset_by}"))
                if cn.reset_by == "middlebox":
                    out.append((w.rsts("s")[0]["ttl"] not in w.ttls("s") if w.rsts("s") else False, f"{cn.label} forged RST TTL differs"))
            elif cn.ending == "timeout":
                out.append((not w.rsts() and not w.fins(), f"{cn.label} timeout: no FIN/RST"))
            elif cn.ending == "unfinished":
                out.append((not w.rsts() and not w.fins() and bool(w.synacks()), f"{cn.label} still open"))
        return out

    return scenario(
        name="mixed-24-connections",
        description="24 concurrent connections (20 IPv4, 4 IPv6; one server program with a listener thread per port, "
                    "one client program with a thread per connection, started 30 ms apart) ending in every way the "
                    "lab can make without changing the router mid-run: graceful, half-close, bulk, unread-data "
                    "resets both ways, aborts both ways, data after close both ways, refused, dropped SYNs, a "
                    "forged reset, a retransmission timeout, FIN+RST tail, still open.",
        seed_case=None,
        sysctls={"client": {"net.ipv4.tcp_retries2": 3, "net.ipv4.tcp_syn_retries": 2}},
        nft=rules, conns=K_, server=S_, client=C_, during=during, stop_capture_first=True, check=check,
        notes="The middlebox RST comes from the router's static rule rejecting the client's first PSH segment; the "
              "retransmission timeout from a rule dropping it (the server never sees the data). The capture stops "
              "at ~8.5 s, before the programs end, so the still-open and FIN+RST-tail peers' later calls are not "
              "in the expected file.",
        varies="Interleaving of the connections' packets varies by a few ms; every connection's own sequence is stable.",
        max_time=12, server_grace=0.1,
    )


_mixed()
