import ArgumentParser
import ImprintBuilder

@main
struct Imprint: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "imprint",
        abstract: "Build network-boot deployment-agent images, serve them, and boot lab machines.",
        version: imprintVersion,
        subcommands: [Build.self, Lab.self, Image.self, Device.self, Status.self, ProfileCommand.self, Serve.self, ISO.self, USB.self, Site.self, Replicate.self, Key.self, CA.self])
}
