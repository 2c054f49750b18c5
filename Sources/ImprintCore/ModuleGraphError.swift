/// Why a set of kernel modules could not be resolved or read.
public enum ModuleGraphError: Error, Equatable, CustomStringConvertible {
    /// A module was asked for by a name the graph does not hold; `suggestions` are up to three
    /// near names (or modules with that name as an alias), best first.
    case unknownModule(name: String, suggestions: [String])
    /// `module` lists `dependency` in `depends=` (or `modules.dep`), but no such module exists.
    case missingDependency(module: String, dependency: String)
    /// A line of `modules.dep`, `modules.alias` or `modules.softdep` could not be read.
    case malformedLine(file: String, line: Int, text: String, reason: String)

    public var description: String {
        switch self {
        case .unknownModule(let name, let suggestions):
            let hint = suggestions.isEmpty ? "" : "; did you mean \(suggestions.joined(separator: ", "))?"
            return "unknown kernel module '\(name)'\(hint)"
        case .missingDependency(let module, let dependency):
            return "kernel module '\(module)' depends on '\(dependency)', which is not among the kernel's modules"
        case .malformedLine(let file, let line, let text, let reason):
            return "\(file) line \(line): \(reason): '\(text)'"
        }
    }
}
