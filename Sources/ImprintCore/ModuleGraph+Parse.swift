extension ModuleGraph {
    /// Rebuilds a graph from the three files ``renderModulesDep(_:)``,
    /// ``renderModulesAlias(_:)`` and ``renderModulesSoftdep(_:)`` write (or depmod's own), as
    /// the agent does at boot. The result gives the same ``loadOrder(_:)`` and
    /// ``modules(matchingModalias:)`` as the graph that wrote them.
    ///
    /// Blank lines and `#` comments are skipped. A module's `depends` become its full
    /// dependency list in load order (`modules.dep` does not say which are direct). Firmware
    /// and vermagic are not in these files and come back empty.
    ///
    /// Throws `.malformedLine` for a line that is not in the file's format or that names a
    /// module `modules.dep` does not list, and `.missingDependency` for a dependency path with
    /// no line of its own.
    public init(modulesDep: String, modulesAlias: String, modulesSoftdep: String) throws(ModuleGraphError) {
        var modules: [Module] = []
        var indexByName: [String: Int] = [:]
        var nameByPath: [String: String] = [:]
        var dependencyPaths: [[String]] = []

        for (number, line) in Self.lines(modulesDep) {
            func malformed(_ reason: String) -> ModuleGraphError {
                .malformedLine(file: "modules.dep", line: number, text: String(line), reason: reason)
            }
            guard let colon = line.firstIndex(of: ":") else { throw malformed("no ':' after the module path") }
            let path = String(line[..<colon])
            guard !path.isEmpty, !path.contains(where: \.isWhitespace) else {
                throw malformed("the module path is empty or has spaces")
            }
            let name = ModInfo.moduleName(fromPath: path)
            guard indexByName[name] == nil else { throw malformed("module '\(name)' is listed twice") }
            indexByName[name] = modules.count
            nameByPath[path] = name
            modules.append(Module(name: name, path: path, info: ModInfo(name: name)))
            dependencyPaths.append(line[line.index(after: colon)...].split(whereSeparator: \.isWhitespace).map(String.init))
        }

        for (index, paths) in dependencyPaths.enumerated() {
            // Listed so that right-to-left loading works: reversed, it is a load order.
            var depends: [String] = []
            for path in paths.reversed() {
                guard let name = nameByPath[path] else {
                    throw .missingDependency(module: modules[index].name, dependency: ModInfo.moduleName(fromPath: path))
                }
                depends.append(name)
            }
            modules[index].info.depends = depends
        }

        func index(of name: Substring, file: String, line: Int, text: Substring) throws(ModuleGraphError) -> Int {
            guard let found = indexByName[ModInfo.normalizedModuleName(name)] else {
                throw .malformedLine(
                    file: file, line: line, text: String(text),
                    reason: "module '\(name)' is not listed in modules.dep")
            }
            return found
        }

        for (number, line) in Self.lines(modulesAlias) {
            let words = line.split(whereSeparator: \.isWhitespace)
            guard words.count == 3, words[0] == "alias" else {
                throw .malformedLine(
                    file: "modules.alias", line: number, text: String(line),
                    reason: "expected 'alias PATTERN MODULE'")
            }
            let found = try index(of: words[2], file: "modules.alias", line: number, text: line)
            modules[found].info.aliases.append(String(words[1]))
        }

        for (number, line) in Self.lines(modulesSoftdep) {
            let words = line.split(maxSplits: 2, whereSeparator: \.isWhitespace)
            guard words.count == 3, words[0] == "softdep" else {
                throw .malformedLine(
                    file: "modules.softdep", line: number, text: String(line),
                    reason: "expected 'softdep MODULE pre: ... post: ...'")
            }
            let found = try index(of: words[1], file: "modules.softdep", line: number, text: line)
            let (pre, post) = ModInfo.parseSoftdep(words[2])
            modules[found].info.softdepPre += pre
            modules[found].info.softdepPost += post
        }

        self.init(modules)
    }

    /// The lines of `text` that carry content, with their 1-based numbers; blank lines and
    /// `#` comments are dropped.
    private static func lines(_ text: String) -> [(number: Int, line: Substring)] {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .enumerated()
            .map { (number: $0.offset + 1, line: $0.element) }
            .filter { entry in
                let content = entry.line.drop(while: \.isWhitespace)
                return !content.isEmpty && !content.hasPrefix("#")
            }
    }
}
