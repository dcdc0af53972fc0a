// swift-tools-version:6.0
// Ringside — a terminal debugger and monitor for x86 guests under software
// full virtualization.  GPL-3.0-or-later (GNU readline is linked).
import PackageDescription

// The CPU module is the hot loop: in release builds it drops bounds and
// overflow checks (performance.md: 1.8x) and exclusivity checks.
let fastCPU: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "Ringside",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "ringside", targets: ["ringside"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CNCurses", path: "CNCurses"),
        .systemLibrary(name: "CReadline", path: "Sources/CReadline"),
        .target(name: "X86", swiftSettings: fastCPU),
        .target(name: "PC", dependencies: ["X86"], swiftSettings: fastCPU),
        .target(name: "Monitors", dependencies: ["X86", "PC"]),
        .target(name: "Debugger", dependencies: ["X86", "PC", "Monitors"]),
        .target(name: "GDBRemote", dependencies: ["X86", "PC", "Debugger"]),
        .target(name: "TUI", dependencies: ["Debugger", "Monitors", "PC", "X86", "CNCurses", "CReadline"]),
        .executableTarget(name: "ringside", dependencies: [
            "X86", "PC", "Monitors", "Debugger", "GDBRemote", "TUI",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "ringside-bench", dependencies: ["X86", "PC", "Debugger", "TUI"], swiftSettings: fastCPU),
        .testTarget(name: "X86Tests", dependencies: ["X86"], resources: [.copy("Vectors")]),
        .testTarget(name: "PCTests", dependencies: ["PC", "X86"]),
        .testTarget(name: "MonitorsTests", dependencies: ["Monitors", "PC", "X86"]),
        .testTarget(name: "DebuggerTests", dependencies: ["Debugger", "Monitors", "PC", "X86"], resources: [.copy("Golden")]),
        .testTarget(name: "GDBRemoteTests", dependencies: ["GDBRemote", "PC", "X86"]),
        .testTarget(name: "TUITests", dependencies: ["TUI", "Debugger", "Monitors", "PC", "X86"], exclude: ["Snapshots"]),
    ]
)
