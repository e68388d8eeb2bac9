import ConnectionTracking
import Diagnosis
import WireFormat

/// Every sentence coroner writes. Verdicts and reasons are data; this turns them into plain words a
/// game-server or web engineer understands, with the numbers and packet numbers that back them.
///
/// Each text is written into a `TextSink` as `Sentence`s (bytes, not `String` interpolation): the JSON
/// output escapes them straight into its bytes, the other reports get a `String` from the same code.
public enum Words {
    static func name(_ p: Party?) -> StaticString {
        switch p {
        case .client?: "client"
        case .server?: "server"
        case .middlebox?: "a middlebox"
        case .unknown?, nil: "one side"
        }
    }

    static func resetWords(_ hasACK: Bool) -> StaticString { hasACK ? "RST+ACK" : "RST without ACK" }

    /// One or two sentences saying what happened and what the applications saw.
    public static func explanation(_ v: Verdict, _ c: Connection) -> String {
        var text = ""
        explanation(v, c, into: &text)
        return text
    }

    static func explanation(_ v: Verdict, _ c: Connection, into out: inout some TextSink & ~Copyable) {
        let closer = name(v.closedBy)
        let peer: StaticString = v.closedBy == .client ? "server" : v.closedBy == .server ? "client" : "other side"
        // Made only where a sentence names the RST (most connections close without one).
        func resetText() -> Sentence {
            let reset = v.reasons.first { if case .reset = $0 { true } else { false } }
            guard case let .reset(packet, _, _, hasACK, _, afterFIN, _)? = reset else { return "" }
            return "packet \(packet): \(resetWords(hasACK))\(afterFIN ? " after its FIN" : ", no FIN")"
        }
        switch v.cause {
        case .gracefulClose:
            if v.ending == .reset, let resetBy = v.resetBy {
                out.write("Both sides closed normally (FIN each way, the \(closer) first), then the \(name(resetBy)) sent a RST as well (\(resetText())).")
                out.write(" Each application most likely read EOF; the trailing RST is an abortive tail and usually harmless.")
            } else if v.reasons.contains(where: { if case .simultaneousClose = $0 { true } else { false } }) {
                out.write("Both sides closed at the same time (their FINs crossed on the wire). Each application read EOF: a normal ending.")
            } else if case let .halfClose(_, _, from, bytes)? = v.reasons.first(where: { if case .halfClose = $0 { true } else { false } }) {
                out.write("The \(closer) closed its sending side first (half-close); the \(name(from)) still sent \(bytes: bytes) and then closed too. Both read EOF: a normal ending.")
            } else if v.confidence == .low {
                out.write("Only the \(closer)'s side of this connection was captured; it closed with a FIN. The other direction is missing, so whether the peer closed too cannot be seen.")
            } else {
                out.write("The \(closer) closed the connection normally (FIN), and the \(peer) closed its side too; every byte was acknowledged. Both applications read EOF.")
                // The field is read from the side itself: `c[role]` would copy the whole side first.
                let closerReceivedSinceLastSend =
                    v.closedBy == .server ? c.serverSide.receivedSinceLastSend : c.clientSide.receivedSinceLastSend
                if closerReceivedSinceLastSend == 0 {
                    out.write(" (A process that exits or is killed with nothing unread closes the same way; the wire cannot tell them apart.)")
                }
            }
            if v.ending == .graceful && !(c.clientSide.finAcknowledged && c.serverSide.finAcknowledged) {
                let unacked: Role = c.clientSide.finAcknowledged ? .server : .client
                let repeats = c[unacked].finCount - 1
                out.write(" The \(unacked.rawValue)'s FIN was never acknowledged in the capture")
                if repeats > 0 { out.write(" (sent \(repeats + 1) times)") }
                out.write(": the final ACK was lost, or the \(unacked.peer.rawValue) vanished right after closing.")
            }
        case .unreadDataOnClose:
            let unread = v.reasons.compactMap { if case let .unreadData(_, _, _, b) = $0 { b } else { nil } }.first
            let shrink = v.reasons.compactMap { if case let .windowShrank(_, _, _, m, l) = $0 { m - l } else { nil } }.first
            if v.confidence == .low {
                let sent = c[v.closedBy == .client ? .server : .client].streamBytes
                out.write("The \(closer) reset the connection when it closed (\(resetText())) after the \(peer) had sent it \(bytes: sent): most likely some of that was still unread in its receive buffer, which makes the kernel send RST instead of FIN.")
            } else {
                let amount: Sentence =
                    if let unread { "\(bytes: unread) from the \(peer) were still unread" } else { "data from the \(peer) was still unread" }
                out.write("The \(closer) reset the connection because it closed its socket while \(amount) in its receive buffer (\(resetText())).")
            }
            if let shrink, shrink > 0 { out.write(" Its receive window had shrunk by \(bytes: shrink), the gauge of unread data.") }
            out.write(" The \(peer)'s next recv() or send() fails with ECONNRESET (Windows: 10054); Linux first delivers the data that had already arrived, Windows may discard the \(closer)'s last data.")
        case .abortiveClose:
            if v.rule == "attempt_aborted" && c.synAckPacket != 0 {
                out.write("The client reset the attempt right after the server's SYN-ACK, without completing the handshake (\(resetText())): a half-open port scan (SYN scan), or a connect() abandoned at that moment.")
                out.write(" The server's listener was there.")
            } else if v.rule == "attempt_aborted" {
                out.write("The client gave up its own connection attempt: its SYN got no SYN-ACK and it then sent a RST (\(resetText())).")
                out.write(" A connect() that timed out in the application, or a port scanner.")
            } else {
                out.write("The \(closer) aborted the connection with a RST (\(resetText())) while nothing was left unread: SO_LINGER {on, 0}, a proxy or load balancer dropping the connection, or an application-level kill.")
                out.write(" The \(peer) gets ECONNRESET (Windows: 10054).")
            }
        case .dataAfterClose:
            let bytes: UInt64 = v.reasons.compactMap { if case let .dataAfterPeerFIN(_, _, _, b, _) = $0 { b } else { nil } }.first ?? 0
            out.write("The \(closer) closed the connection (FIN), but the \(peer) kept sending (\(bytes: bytes) after the FIN), so the \(closer), whose socket was gone, answered with a RST (\(resetText())).")
            out.write(" The \(peer)'s first send after the close succeeded; the next one fails with EPIPE (Windows: 10053).")
        case .refused:
            if case let .synAnsweredByReset(syn, rst, _, _)? = v.reasons.first {
                out.write("The connection was refused: the client's SYN (packet \(syn)) was answered by a RST (packet \(rst)) and no SYN-ACK.")
                out.write(" Nothing listened on \(c.server.description), or a firewall rejected it.")
                out.write(" connect() fails with ECONNREFUSED (Windows: 10061).")
            } else {
                out.write("The connection was refused: an ICMP port-unreachable came back for the client's SYN. connect() fails with ECONNREFUSED (Windows: 10061).")
            }
        case .synTimeout:
            let retries = c.clientSide.synRetransmissions
            let span = c.clientSide.synTime.nanoseconds(to: c.clientSide.lastTime)
            if let icmp = v.reasons.first(where: { if case .icmpError = $0 { true } else { false } }), case let .icmpError(p, _, kind, reporter) = icmp {
                out.write("The client's SYN was never answered by \(c.server.description); \(reporter) sent an ICMP \(kind) (packet \(p)). connect() most likely fails with \(v.clientView?.result.rawValue ?? "EHOSTUNREACH").")
            } else if retries > 0 {
                out.write("The client's SYN was never answered: sent \(retries + 1) times over \(duration: span), no SYN-ACK, no RST.")
                out.write(" The server is down, unreachable, or a firewall drops the packets silently.")
                out.write(" connect() fails with ETIMEDOUT (Windows: 10060) once the retries run out.")
            } else {
                out.write("A single SYN with no answer before the capture ended. The server may be unreachable or a firewall drops it; the capture may also have stopped before the client retried.")
            }
        case .retransmissionTimeout:
            if case let .retransmissions(_, _, from, count, first, backoff, _)? = v.reasons.first {
                out.write("The \(name(from)) retransmitted the same data \(count) times (from packet \(first)\(backoff ? ", with exponential backoff" : "")) and never got an acknowledgment; the \(name(from == .client ? .server : .client)) fell silent.")
                out.write(" Its host crashed, lost power or network, or the path broke.")
                if v.resetBy != nil {
                    out.write(" The \(name(from)) finally gave up with a RST.")
                } else {
                    out.write(" The \(name(from))'s socket fails with ETIMEDOUT (Windows: 10060, sometimes 10053) when the retries run out; the silent side saw nothing.")
                }
            } else {
                out.write("Data was retransmitted without acknowledgment until the sender gave up.")
            }
        case .keepaliveTimeout:
            let prober = v.closedBy
            let count = v.reasons.compactMap { if case let .keepaliveProbes(_, _, _, n, _) = $0 { n } else { nil } }.first ?? 0
            out.write("The connection was idle; the \(name(prober)) sent \(count) keepalive probes and none was answered, so it gave up\(v.resetBy != nil ? " and sent a RST" : "").")
            out.write(" The \(name(prober)) gets ETIMEDOUT on its next call; the peer had vanished (crash, power loss, network gone, or state dropped by a NAT).")
        case .peerLostState:
            out.write("The \(closer) answered the \(peer)'s segment with a RST (\(resetText())) as if it had never heard of this connection: its process or host restarted, or a NAT/firewall between them lost the mapping.")
            out.write(" The \(peer) gets ECONNRESET (Windows: 10054).")
        case .listenOverflow:
            if c.handshake == .synOnly {
                out.write("The client's SYNs were never answered although \(c.server.description) completed other handshakes in this capture: its listen (accept) queue was most likely full, and Linux drops SYNs while it is.")
                out.write(" connect() fails with ETIMEDOUT once the retries run out.")
                break
            }
            out.write("The handshake completed on the wire but the server application never took the connection: its listen (accept) queue was full. ")
            if v.resetBy == .server {
                out.write("The server's kernel reset it (\(resetText())). The client gets ECONNRESET.")
            } else {
                out.write("The server's kernel ignored the client's data (never acknowledged), so the client waits and times out.")
            }
        case .middleboxReset:
            if case let .ttlMismatch(p, _, claimed, resetTTL, usual)? = v.reasons.first(where: { if case .ttlMismatch = $0 { true } else { false } }) {
                out.write("A RST claiming to come from the \(name(claimed)) (packet \(p)) has TTL \(resetTTL), but the \(name(claimed))'s other packets arrive with TTL \(usual): a firewall, IDS, load balancer or proxy on the path most likely forged it.")
                out.write(" The receiving application gets ECONNRESET (Windows: 10054).")
            } else {
                out.write("RSTs went toward both ends at the same moment: a middlebox (firewall, IDS, load balancer) most likely forged them. Both applications get ECONNRESET.")
            }
        case .idleTimeout:
            let gap: Int64 = v.reasons.compactMap { if case let .idleGap(_, _, ns) = $0 { ns } else { nil } }.first ?? 0
            out.write("The connection sat idle for \(duration: gap); the next segment was answered by a RST from the \(closer) side (\(resetText())).")
            out.write(" State expired somewhere (a NAT, firewall or load balancer idle timer, or the peer).")
            out.write(" The sender gets ECONNRESET.")
        case .stillOpen:
            let idle: Int64 = v.reasons.compactMap { if case let .captureEnded(_, _, ns, _) = $0 { ns } else { nil } }.first ?? 0
            let half = v.reasons.compactMap { if case let .captureEnded(_, _, _, h) = $0 { h } else { nil } }.first ?? nil
            // How the tracker let go of it says more than the idle time, when it gave up on it.
            if c.finishReason == .evicted {
                out.write("The connection was evicted to stay under --max-connections; no ending was seen.")
            } else if c.finishReason == .gaveUp {
                out.write("The connection went silent while a sender waited for an answer (an unanswered SYN or unacknowledged data), longer than any retransmission timer; the sender most likely gave up. No ending was seen.")
            } else if c.finishReason == .idle {
                out.write("The connection went silent for longer than the idle timeout; no ending was seen.")
            } else if half != nil {
                out.write("The \(name(half)) closed its side (FIN), the other side had not closed when the capture ended (half-closed, idle \(duration: idle) at the end).")
            } else {
                out.write("The connection was still open when the capture ended (idle \(duration: idle) at the end); there is no ending to explain.")
            }
        case .unknown:
            if v.rule == "zero_window_stall" {
                out.write("The \(closer)'s data was stalled: the \(peer) advertised a zero receive window (it stopped reading) and kept it closed while the \(closer) probed; then the \(closer) went silent with no FIN or RST.")
                out.write(" It most likely gave up on its own (TCP_USER_TIMEOUT or an application timeout).")
                out.write(" No cause code covers this ending.")
            } else if case let .onlyResetSeen(p, _, from)? = v.reasons.first {
                out.write("Only a RST from the \(name(from)) was captured (packet \(p)), nothing else of this connection: the capture began after it was set up, so why it was reset cannot be told.")
            } else {
                if v.reasons.isEmpty {
                    out.write("No rule fits what was seen: no FIN, no RST.")
                } else {
                    out.write("No rule fits what was seen: \(v.reasons.count) notable packets, listed as evidence.")
                }
            }
        }
        for alternative in v.alternatives where v.cause != .unknown {
            out.write(" ")
            out.write(alternativeSentence(alternative))
        }
        if c.rolesInferred && c.roleEvidence != .synAck {
            out.write(" (Roles inferred: the handshake was not captured.)")
        }
    }

    /// Says which other cause the capture cannot rule out, and why.
    static func alternativeSentence(_ code: CauseCode) -> Sentence {
        switch code {
        case .abortiveClose: "A deliberate abort (SO_LINGER {on, 0}, a proxy killing the connection) looks the same on the wire (abortive_close)."
        case .unreadDataOnClose: "A close with unread data in the receive buffer looks the same on the wire (unread_data_on_close)."
        case .stillOpen: "The capture may simply have ended too early to see more (still_open)."
        case .retransmissionTimeout: "From the sender's side this is also a retransmission timeout (retransmission_timeout)."
        case .peerLostState: "The peer may have lost the connection's state (peer_lost_state)."
        default: "The capture cannot rule out \(code.rawValue)."
        }
    }

    /// One line of evidence.
    public static func evidence(_ r: Reason, _ c: Connection) -> String {
        var text = ""
        evidence(r, c, into: &text)
        return text
    }

    static func evidence(_ r: Reason, _ c: Connection, into out: inout some TextSink & ~Copyable) {
        switch r {
        case let .reset(_, _, from, hasACK, relation, afterFIN, ttl):
            out.write("\(resetWords(hasACK)) from the \(name(from))")
            switch relation {
            case .senderNext: out.write(", seq = its next sequence number (its socket was closed or aborted)")
            case .peerAck: out.write(", seq = the peer's ACK number (a reply to a segment for a connection it does not know)")
            case .both: out.write(", seq = its next sequence number = the peer's ACK")
            case .other: out.write(", seq out of step with both sides")
            case .unknown: break
            }
            if afterFIN { out.write(", after its own FIN") }
            out.write(", TTL \(ttl)")
        case let .resetOutOfWindow(_, _, from): out.write("RST from the \(name(from)) outside the receive window: ignored by the receiver")
        case let .synSent(_, _, retries, span):
            if retries == 0 {
                out.write("SYN sent once")
            } else {
                out.write("SYN sent \(retries + 1) times over \(duration: span)")
            }
        case let .synAnsweredByReset(syn, _, _, hasACK): out.write("\(resetWords(hasACK)) answering the SYN of packet \(syn), no SYN-ACK")
        case .noSYNACK: out.write("no SYN-ACK came back")
        case let .fin(_, _, from): out.write("FIN from the \(name(from))")
        case .simultaneousClose: out.write("FINs crossed: simultaneous close")
        case let .halfClose(_, _, from, bytes): out.write("half-close: the \(name(from)) sent \(bytes: bytes) after the peer's FIN")
        case let .finThenReset(_, _, from): out.write("the \(name(from)) sent a RST after its FIN (abortive tail)")
        case let .unreadData(_, _, sentBy, bytes): out.write("\(bytes: bytes) from the \(name(sentBy)) never answered: most likely unread")
        case let .windowShrank(_, _, of, maximum, last):
            out.write("the \(name(of))'s receive window shrank from \(grouped: maximum) to \(grouped: last) bytes (unread data piling up)")
        case let .windowAtMaximum(_, _, of, window): out.write("the \(name(of))'s receive window was back at its maximum (\(grouped: window) bytes): nothing unread")
        case let .dataAfterPeerFIN(_, _, from, bytes, fin): out.write("the \(name(from)) sent \(bytes: bytes) after the FIN of packet \(fin)")
        case let .retransmissions(_, _, from, count, first, backoff, acknowledged):
            out.write("the \(name(from)) retransmitted the same segment \(count) times from packet \(first)")
            if backoff { out.write(" with exponential backoff") }
            if !acknowledged { out.write(", never acknowledged") }
        case let .silenceAfter(_, _, of, ns): out.write("nothing more from the \(name(of)) for the last \(duration: ns)")
        case let .keepaliveProbes(_, _, from, count, answered):
            out.write("\(count) keepalive probes from the \(name(from)), ")
            out.write(answered ? "answered" : "none answered")
        case let .zeroWindow(_, _, of, probes): out.write("the \(name(of)) advertised a zero window; \(probes) probes")
        case let .ttlMismatch(_, _, claimed, resetTTL, usual): out.write("RST TTL \(resetTTL), but the \(name(claimed))'s other packets have TTL \(usual)")
        case .resetsBothWays: out.write("RSTs toward both ends within a millisecond")
        case let .idleGap(_, _, ns): out.write("idle for \(duration: ns) before this packet")
        case let .icmpError(_, _, kind, reporter): out.write("ICMP \(kind) from \(reporter)")
        case let .handshakeThenSilence(_, _, bytes): out.write("the client's \(bytes: bytes) after the handshake were never acknowledged")
        case let .synAckRetransmitted(_, _, count): out.write("the server repeated its SYN-ACK \(count) times after the client's ACK")
        case .resetRightAfterHandshake: out.write("RST right after the handshake, before any server data")
        case let .captureEnded(_, _, ns, half):
            out.write("capture ended \(duration: ns) after this connection's last packet")
            if let half { out.write(", half-closed by the \(name(half))") }
        case let .onlyResetSeen(_, _, from): out.write("a lone RST from the \(name(from)); nothing else of this connection was captured")
        case let .captureLoss(_, _, count): out.write("\(count) ACKs for data the capture never saw (capture loss or one-sided capture)")
        case .midstream: out.write("the handshake was not captured (started mid-stream)")
        case let .serverAnsweredOthers(_, _, server): out.write("\(server) completed other handshakes in this capture: it was up and reachable")
        }
    }

    /// What one side's application saw, in words.
    public static func appDetail(_ o: AppOutcome, side: Role, _ v: Verdict, _ c: Connection) -> String {
        var text = ""
        appDetail(o, side: side, v, c, into: &text)
        return text
    }

    static func appDetail(_ o: AppOutcome, side: Role, _ v: Verdict, _ c: Connection, into out: inout some TextSink & ~Copyable) {
        switch o.result {
        case .eof: out.write("recv() returned 0 (EOF) after the peer's FIN")
        case .connectionReset: out.write("the next \(o.call.rawValue) most likely failed with ECONNRESET")
        case .brokenPipe: out.write("the first send() after the peer's close succeeded (and provoked the RST); the next send() fails with EPIPE (SIGPIPE unless ignored) on Linux, 10053 on Windows")
        case .timedOut: out.write(o.call == .connect ? "connect() failed with ETIMEDOUT" : "the pending call failed with ETIMEDOUT")
        case .connectionRefused: out.write("connect() failed with ECONNREFUSED")
        case .hostUnreachable: out.write("connect() failed with EHOSTUNREACH (ICMP came back)")
        case .networkUnreachable: out.write("connect() failed with ENETUNREACH (ICMP came back)")
        case .resetOrTimeout: out.write("recv()/send() failed with ECONNRESET, or ETIMEDOUT if nothing came back")
        }
        switch o.note {
        case .receivedDataMayBeLostOnWindows:
            out.write("; on Linux, data already received stays readable before the error, Windows may discard it")
        case .firstSendSucceeds: out.write("; recv() returns the data, then EOF on Linux, but fails with 10053 on Windows")
        case .recvEOFOnLinux10053OnWindows: out.write("; recv() reads EOF on Linux, fails with 10053 on Windows")
        case .afterRetransmissionsGiveUp: out.write(" after the retransmissions ran out")
        case .afterKeepaliveProbes: out.write(" after the keepalive probes ran out")
        case .neverAccepted: out.write("; the server application never accepted this connection")
        case .windowsMayReport10053: out.write("; Windows may report 10053 (WSAECONNABORTED) instead")
        case .nextSendFailsEPIPE: out.write("; a send() after that fails with EPIPE on Linux (10053 on Windows), because the peer also reset")
        case .blockedByZeroWindow: out.write("; send() had been blocked since the peer's receive window dropped to zero (the peer stopped reading)")
        case .none: break
        }
    }

    public static func advice(_ a: Advice) -> String { adviceText(a).description }

    /// The advice as a literal (the JSON output copies it without building a `String`).
    static func adviceText(_ a: Advice) -> StaticString {
        switch a {
        case .drainBeforeClose: "Read what the peer sent before close(): shutdown(SHUT_WR), read to EOF, then close()."
        case .clientShouldCloseFirst: "Let the client close first, or have the server shutdown(SHUT_WR) and drain before close(); clients should stop sending after a goodbye message."
        case .avoidLingerZero: "If SO_LINGER {on, 0} is set, or a proxy kills connections, expect resets; close() normally unless an abort is intended."
        case .checkListener: "Check that the server listens on that address and port, and that no firewall rejects it."
        case .checkPathOrFirewall: "Check the route to the server and any firewall that drops SYNs silently."
        case .enableKeepaliveOrHeartbeat: "Send application heartbeats or enable TCP keepalive shorter than the idle timeout of NATs and firewalls on the path."
        case .checkMiddlebox: "Look at firewalls, IDS, load balancers or proxies on the path: their logs will show the reset."
        case .raiseBacklogAcceptFaster: "Raise the listen backlog (and net.core.somaxconn) and accept() faster."
        case .reconnectOnReset: "Treat this reset as 'peer forgot the connection': reconnect instead of reporting a network failure."
        case .checkPeerAlive: "Check whether the peer host or the path went down at that time."
        }
    }
}
