import Monitors

// The `bt` monitor as the Code panel's TranslationSource: the block that
// holds the address, row by row, from the translation cache — the code the
// CPU really runs (BTTranslator.swift).  Copied instructions carry no reason,
// so the panel shows them plain; every rewrite is marked with its reason.

extension BTMonitor: TranslationSource {
    public func translationRows(around address: UInt32) -> [TranslationRow]? {
        block(containing: address)?.rows.map { r in
            TranslationRow(guest: r.guest, original: r.original,
                           translated: r.translated.map { TranslatedLine(address: $0.address, text: $0.text) },
                           rewrite: r.rewrite.rawValue, reason: r.rewrite == .ident ? nil : r.reason)
        }
    }
}
