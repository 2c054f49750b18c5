import Testing
@testable import ImprintServer
