// What the Code panel shows beside the original under `bt`: the guest's
// instructions and, for each, the translated instructions that really run
// in the translation cache (DESIGN.md: "the translated listing the code
// panel shows beside the original is what the CPU runs").
//
// The TUI does not know how a translator works.  Whoever does (the `bt`
// monitor, through an adapter) hands rows over through `TranslationSource`;
// `Model.translations` holds it.  When no source is set, a monitor that
// adopts the protocol itself is asked.  Without rows the Code panel shows
// the plain disassembly.

/// One translated instruction: its address in the translation cache and its text.
public struct TranslatedLine: Equatable, Sendable {
    public var address: UInt32
    public var text: String
    public init(address: UInt32, text: String) { self.address = address; self.text = text }
}

/// One guest instruction beside its translation.
public struct TranslationRow: Equatable, Sendable {
    /// Guest-linear address of the original instruction.
    public var guest: UInt32
    /// The original instruction, disassembled.
    public var original: String
    /// What runs instead; empty when it has not been translated (yet).
    public var translated: [TranslatedLine]
    /// How it was translated, as the translator names it ("IDENT", "INLINE", "CALLOUT"…).
    public var rewrite: String
    /// Why it was rewritten; nil when it was copied as it is.
    public var reason: String?

    public init(guest: UInt32, original: String, translated: [TranslatedLine], rewrite: String = "IDENT", reason: String? = nil) {
        self.guest = guest; self.original = original; self.translated = translated
        self.rewrite = rewrite; self.reason = reason
    }

    /// Copied as it is: the translation is the original instruction.
    public var isIdentical: Bool { reason == nil }
}

/// Gives the Code panel the translation of the guest code around an address.
public protocol TranslationSource: AnyObject {
    /// The rows of the translated code that holds guest-linear `address`
    /// (its basic block, or more), in guest address order; nil when the
    /// code there has no translation.
    func translationRows(around address: UInt32) -> [TranslationRow]?
}

extension Model {
    /// The rows around `address` from the source, or from a monitor that is one.
    func translationRows(around address: UInt32) -> [TranslationRow]? {
        let source = translations ?? (session.monitor as AnyObject as? TranslationSource)
        guard let rows = source?.translationRows(around: address), !rows.isEmpty else { return nil }
        return rows
    }
}
