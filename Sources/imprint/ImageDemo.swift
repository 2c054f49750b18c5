import ArgumentParser
import Foundation
import ImprintBuilder

extension Imprint.Image {
    struct Demo: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build a small bootable demo disk image (GPT, UEFI) to deploy with imprint.",
            discussion: """
                The disk has an ESP with a unified kernel image (the recipe's Debian kernel, systemd-boot's stub) \
                and an ext4 root whose init prints `hello from <hostname>` and what the agent customized, then powers \
                off. Built from Debian packages with apt, objcopy, mtools and e2fsprogs; no root or loop mounts. \
                With --format tar, the same root tree and the kernel image under boot/efi/ as an uncompressed tar, \
                for a layout with partitions esp (vfat, /boot/efi) and root (ext4, /). See docs/demo-image.md.
                """)

        @Option(help: ArgumentHelp("Where to write the image.", valueName: "FILE"))
        var out: String

        @Option(help: ArgumentHelp("raw (a GPT disk) or tar (the root tree and boot/efi, for the agent to lay out).", valueName: "FORMAT"))
        var format: DemoImage.Format = .raw

        @Option(help: ArgumentHelp("The recipe whose kernel the image boots.", valueName: "RECIPE"))
        var recipe: String = "recipes/qemu-virtio.yaml"

        func run() throws {
            do {
                let recipe = try Recipe.load(path: recipe)
                let report = try DemoImage(recipe: recipe, output: out, format: format) { say("image demo: \($0)") }.build()
                switch report.format {
                case .raw:
                    print("\(report.path): \(report.diskSize >> 20) MiB GPT disk (esp \(report.espSize >> 20) MiB, root \(report.rootSize >> 20) MiB), kernel \(report.kernelRelease), \(report.seconds) s")
                case .tar:
                    print("\(report.path): \(report.size) bytes tar, \(report.entries ?? 0) entries (root tree, boot/efi/EFI/BOOT/BOOTX64.EFI), kernel \(report.kernelRelease), \(report.seconds) s")
                }
            } catch let error as RecipeError {
                throw ValidationError("\(error)")
            } catch {
                throw CommandFailure("image demo failed: \(error)")
            }
        }
    }
}

extension DemoImage.Format: ExpressibleByArgument {}
