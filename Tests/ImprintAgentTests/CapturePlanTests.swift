import ImprintCore
import Testing
@testable import ImprintAgent

@Suite struct CapturePlanTests {
    static let mac = (try? MACAddress(parsing: "52:54:00:12:34:56"))!

    static func assignment(mode: DeviceAssignment.Mode = .capture, name: String = "golden", uploadTo: String? = nil) -> DeviceAssignment {
        var a = DeviceAssignment(mac: mac, profile: "qemu-virtio", mode: mode, imageName: name, imageSha256: "")
        a.uploadTo = uploadTo
        return a
    }

    @Test func uploadsBackToTheBootServerUnlessUploadToIsNamed() throws {
        let plan = try CapturePlan(assignment: Self.assignment(), bootServer: "http://10.0.2.2:8080/")
        #expect(plan.blobURL == "http://10.0.2.2:8080/uploads/52-54-00-12-34-56/golden")
        #expect(plan.descriptorURL == "http://10.0.2.2:8080/uploads/52-54-00-12-34-56/golden/descriptor")
        let office = try CapturePlan(assignment: Self.assignment(uploadTo: "https://office.example:8443"), bootServer: "http://site:8080")
        #expect(office.blobURL == "https://office.example:8443/uploads/52-54-00-12-34-56/golden")
    }

    @Test func refusesADeployAssignmentAndBadNames() {
        #expect(throws: CaptureFailure.self) { try CapturePlan(assignment: Self.assignment(mode: .deploy), bootServer: "http://s") }
        #expect(throws: CaptureFailure.self) { try CapturePlan(assignment: Self.assignment(name: "../x"), bootServer: "http://s") }
    }

    @Test func descriptorCarriesTheBlockMapOfZeroRuns() throws {
        // 3 blocks of 4: data, zeros, data.
        var builder = BlockMapBuilder(blockSize: 4)
        builder.feed([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2])
        let map = builder.finish()
        #expect(map.ranges == [.init(offset: 0, length: 4), .init(offset: 8, length: 4)])
        let text = CapturePlan.descriptor(name: "golden", uncompressedSha256: "ab", map: map)
        let json = try JSONValue.parse(text)
        #expect(json["uncompressedSize"]?.intValue == 12)
        #expect(json["blockMap"]?["blockSize"]?.intValue == 4)
        #expect(json["blockMap"]?["ranges"]?.arrayValue?.count == 2)
        #expect(json["compression"]?.stringValue == "zstd")
    }

    @Test(arguments: [(0, true), (500, true), (507, true), (403, false), (401, false), (404, false)])
    func retriesOnlyWhatMayPass(status: Int, retry: Bool) {
        #expect(CapturePlan.retryable(status: status) == retry)
    }
}
