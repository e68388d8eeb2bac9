// libFuzzer entry: the input is a FrameStream (link type, configuration, frames with time deltas).

import FuzzSupport
import PacketCapture

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrames(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start else { return 0 }
    let data = UnsafeRawBufferPointer(start: start, count: count)
    guard var stream = FrameStream(data) else { return 0 }
    var pipeline = Pipeline(configuration: stream.configuration)
    var number = 0
    while let frame = stream.next() {
        number += 1
        pipeline.consume(
            CapturedPacket(
                number: number, timestamp: frame.timestamp, bytes: frame.bytes, wireLength: frame.wireLength,
                linkType: stream.linkType))
    }
    pipeline.finish()
    return 0
}
