// libFuzzer entry: the input is a whole capture file. It is written to a per-process file on tmpfs
// and read with CaptureFileReader (the pure-Swift pcap/pcapng parser), every packet going through the
// pipeline; damage must end reading with a CaptureError, never a trap.

import FuzzSupport
import PacketCapture

#if canImport(Glibc)
    import Glibc
#endif

let scratchPath: String = {
    let directory = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
    return "\(directory)/coroner-fuzz-\(getpid()).cap"
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCaptureFile(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let file = fopen(scratchPath, "wb") else { return 0 }
    if let start, count > 0 { _ = fwrite(start, 1, count, file) }
    fclose(file)
    let opened: CaptureFileReader
    do throws(CaptureError) {
        opened = try CaptureFileReader.open(path: scratchPath)
    } catch {
        precondition(!error.message.isEmpty)
        return 0
    }
    var reader = opened
    var pipeline = Pipeline(configuration: count > 0 ? (start?[count - 1] ?? 0) & 0x0b : 0)
    do throws(CaptureError) {
        try reader.forEachPacket { packet in
            pipeline.consume(packet)
            return .proceed
        }
    } catch {
        precondition(error.kind == .damaged && !error.message.isEmpty)
    }
    _ = reader.linkTypes
    _ = reader.hasMixedInterfaces
    pipeline.finish()
    return 0
}
