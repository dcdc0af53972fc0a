// Expressions: parsing (precedence, casts, $ names) and evaluation against a
// session on demos/build/hello.elf (registers, memory, symbols, history).

import Testing
@testable import Debugger
import PC
import X86

func helloSession() throws -> Session {
    try Session(guestPath: GoldenFiles.repositoryRoot.appendingPathComponent("demos/build/hello.elf").path)
}

extension Session {
    /// Evaluates text, or gives the error message.
    func eval(_ text: String) -> Result<Value, CommandError> {
        do { return .success(try evaluate(try ExpressionParser.parse(text))) } catch let e as ParseError {
            return .failure(CommandError(e.message, column: e.column))
        } catch let e as CommandError {
            return .failure(e)
        } catch {
            return .failure(CommandError("\(error)"))
        }
    }
    func int(_ text: String) -> Int64? { try? eval(text).get().integer }
    func error(_ text: String) -> String? {
        if case .failure(let e) = eval(text) { return e.message }
        return nil
    }
}

@Suite("Expressions")
struct ExpressionTests {
    @Test("precedence and associativity are C's")
    func precedence() {
        #expect(expr("1 + 2 * 3") == .binary(.add, lit(1), .binary(.mul, lit(2), lit(3))))
        #expect(expr("1 - 2 - 3") == .binary(.sub, .binary(.sub, lit(1), lit(2)), lit(3)))
        #expect(expr("1 << 2 + 3") == .binary(.shl, lit(1), .binary(.add, lit(2), lit(3))))
        #expect(expr("a == b && c") == .binary(.and, .binary(.eq, .symbol("a"), .symbol("b")), .symbol("c")))
        #expect(expr("1 | 2 ^ 3 & 4") == .binary(.bitOr, lit(1), .binary(.bitXor, lit(2), .binary(.bitAnd, lit(3), lit(4)))))
        #expect(expr("$a = $b = 1") == .assign(.dollar("a"), .assign(.dollar("b"), lit(1))))
        #expect(expr("-*x") == .unary(.neg, .deref(.symbol("x"))))
        #expect(expr("*(char *) $esp + 1") == .binary(.add, .deref(.cast(.pointer(.char(signed: true)), .dollar("esp"))), lit(1)))
        #expect(expr("c ? 1 : 2") == .conditional(.symbol("c"), lit(1), lit(2)))
        #expect(expr("p[2]") == .index(.symbol("p"), lit(2)))
        #expect(expr("&kmain") == .addressOf(.symbol("kmain")))
        #expect(expr("{short} 0x10") == .memory(.int(size: 2, signed: true), lit(0x10)))
    }

    @Test("literals: hex, octal, decimal, characters; their types")
    func literals() {
        #expect(expr("0x1f") == lit(31))
        #expect(expr("017") == lit(15))
        #expect(expr("0") == lit(0))
        #expect(expr("'A'") == .literal(Value(.char(signed: true), 65)))
        #expect(expr("'\\n'") == .literal(Value(.char(signed: true), 10)))
        #expect(expr("'\\033'") == .literal(Value(.char(signed: true), 27)))
        #expect(expr("'\\x41'") == .literal(Value(.char(signed: true), 65)))
        #expect(Value.literal(5).type == .int32)
        #expect(Value.literal(0x8000_0000).type == .uint32)
        #expect(Value.literal(0x1_0000_0000).type == .int(size: 8, signed: true))
    }

    @Test("$ names: registers, history, variables")
    func dollars() {
        #expect(expr("$eax") == .dollar("eax"))
        #expect(expr("$") == .history(0, relative: true))
        #expect(expr("$$") == .history(1, relative: true))
        #expect(expr("$$3") == .history(3, relative: true))
        #expect(expr("$4") == .history(4, relative: false))
        #expect(expr("$_") == .dollar("_"))
        #expect(expr("$__") == .dollar("__"))
        #expect(expr("$_exitcode") == .dollar("_exitcode"))
    }

    @Test("casts to C types")
    func casts() {
        #expect(expr("(unsigned char) 1") == .cast(.char(signed: false), lit(1)))
        #expect(expr("(unsigned) 1") == .cast(.uint32, lit(1)))
        #expect(expr("(short int) 1") == .cast(.int(size: 2, signed: true), lit(1)))
        #expect(expr("(long long) 1") == .cast(.int(size: 8, signed: true), lit(1)))
        #expect(expr("(uint16_t *) 1") == .cast(.pointer(.int(size: 2, signed: false)), lit(1)))
        #expect(expr("(void *) 1") == .cast(.pointer(.void), lit(1)))
        #expect(expr("(int **) 1") == .cast(.pointer(.pointer(.int32)), lit(1)))
        #expect(expr("(1)") == lit(1))
    }

    @Test("arithmetic with C's conversions")
    func arithmetic() throws {
        let s = try helloSession()
        #expect(s.int("7 / 2 * 2 + 7 % 2") == 7)
        #expect(s.int("-7 / 2") == -3)
        #expect(s.int("-7 % 2") == -1)
        #expect(s.int("0x7fffffff + 1") == Int64(Int32.min))
        #expect(s.int("(unsigned) -1") == 4_294_967_295)
        #expect(s.int("(unsigned) -1 > 0") == 1)
        #expect(s.int("-1 < 0") == 1)
        #expect(s.int("-1 < 0u") == nil)                // no suffixes: 0u is not a number
        #expect(s.int("1 << 31") == Int64(Int32.min))
        #expect(s.int("0x80000000 >> 4") == 0x0800_0000)
        #expect(s.int("-16 >> 2") == -4)
        #expect(s.int("~0") == -1)
        #expect(s.int("!5") == 0)
        #expect(s.int("!0 && !!3 || 0") == 1)
        #expect(s.int("0 && (1/0)") == 0)               // short circuit
        #expect(s.int("1 || (1/0)") == 1)
        #expect(s.int("(1 ? 10 : 20) | 5") == 15)
        #expect(s.int("(unsigned char) 0x1ff") == 255)
        #expect(s.int("(char) 0xff") == -1)
        #expect(s.int("(short) 0x18000") == Int64(Int16.min))
        #expect(s.int("'A' + 1") == 66)
        #expect(s.error("1 / 0") == "Division by zero")
        #expect(s.error("1 % 0") == "Division by zero")
        #expect(s.error("$undefined + 1") == "Argument to arithmetic operation not a number or boolean.")
    }

    @Test("registers have gdb's types and values")
    func registers() throws {
        let s = try helloSession()
        let c = s.machine.cpu
        c.eax = 0x1234_5678
        #expect(try s.eval("$eax").get() == Value(.int32, 0x1234_5678))
        #expect(try s.eval("$ax").get() == Value(.int(size: 2, signed: true), 0x5678))
        #expect(try s.eval("$al").get().bits == 0x78)
        #expect(try s.eval("$ah").get().bits == 0x56)
        #expect(try s.eval("$esp").get().type == .pointer(.void))
        #expect(try s.eval("$sp").get() == s.eval("$esp").get())
        #expect(try s.eval("$fp").get() == s.eval("$ebp").get())
        #expect(try s.eval("$pc").get() == Value(.codePointer, 0x100010))
        #expect(try s.eval("$eflags").get().type == .flags(.eflags))
        #expect(try s.eval("$cs").get() == Value(.int32, 8))
        #expect(try s.eval("$cr0").get() == Value(.flags(.cr0), 0x11))
        #expect(try s.eval("$esp + 4").get().type == .pointer(.void))
        #expect(s.int("$sp + 4 - $sp") == 4)
    }

    @Test("assignment to registers, memory and variables")
    func assignment() throws {
        let s = try helloSession()
        #expect(s.int("$eax = 42") == 42)
        #expect(s.machine.cpu.eax == 42)
        _ = s.eval("$ax = 0x1234")
        #expect(s.machine.cpu.eax == 0x1234)
        _ = s.eval("$ah = 0xff")
        #expect(s.machine.cpu.eax == 0xff34)
        _ = s.eval("$eip = 0x100021")
        #expect(s.machine.cpu.eip == 0x100021)
        _ = s.eval("{int} 0x200000 = 0xdeadbeef")
        #expect(s.int("*(unsigned *) 0x200000") == 0xdead_beef)
        _ = s.eval("*(char *) 0x200000 = 'A'")
        #expect(s.int("*(unsigned char *) 0x200000") == 65)
        #expect(s.int("((unsigned char *) 0x200000)[3]") == 0xde)
        _ = s.eval("((short *) 0x200000)[1] = -2")
        #expect(s.int("*(int *) 0x200000") == Int64(Int32(bitPattern: 0xfffe_be41)))
        #expect(s.int("$x = 5") == 5)
        #expect(s.int("$x += 2") == 7)
        #expect(s.int("$x * 2") == 14)
        #expect(s.error("3 = 4") == "Left operand of assignment is not an lvalue.")
        #expect(s.error("$cs = 0x10") == "Cannot set $cs: a far jump in the guest loads CS.")
        #expect(s.error("$ds = 0x99") == "Cannot load $ds with 0x99: #GP(0x98)")
        #expect(s.error("$cr4 = 0x20") == "Cannot set $cr4 to 0x20: #GP(0x0)")
        #expect(s.error("*(int *) 0x7ffffff0 = 1") == "Cannot access memory at address 0x7ffffff0")
    }

    @Test("symbols are addresses; absolute symbols are numbers")
    func symbols() throws {
        let s = try helloSession()
        #expect(try s.eval("_start").get() == Value(.function, 0x100010))
        #expect(try s.eval("message").get() == Value(.dataSymbol, 0x100040))
        #expect(try s.eval("_start + 4").get() == Value(.codePointer, 0x100014))
        #expect(try s.eval("&_start").get() == Value(.pointer(.function), 0x100010))
        #expect(try s.eval("COM1_LSR").get() == Value(.int32, 0x3fd))
        #expect(s.int("*(char *) message") == Int64(UInt8(ascii: "H")))
        #expect(s.int("'_start.wait' - _start") == 0x11)
        #expect(s.error("nosuch") == "No symbol \"nosuch\" in current context.")
    }

    @Test("value history and convenience variables")
    func history() throws {
        let s = try helloSession()
        #expect(s.eval("$").map(\.isVoid) == .success(true))
        #expect(s.error("$1") == "History has not yet reached $1.")
        _ = s.execute("p 10")
        _ = s.execute("p 20")
        _ = s.execute("p 30")
        #expect(s.int("$") == 30)
        #expect(s.int("$$") == 20)
        #expect(s.int("$$2") == 10)
        #expect(s.int("$1 + $2") == 30)
        #expect(s.error("$$5") == "History has not yet reached $$5.")
        #expect(s.eval("$unset").map(\.isVoid) == .success(true))
    }

    @Test("memory reads go through the guest's own page walk, without side effects")
    func memory() throws {
        let s = try helloSession()
        #expect(try s.readMemory(0x100000, count: 4) == [0x02, 0xb0, 0xad, 0x1b])
        #expect(s.physical(0x100000) == 0x100000)
        #expect(s.physical(0xffff_fff0) == nil)
        #expect(s.error("*(int *) 0xfffffff0") == "Cannot access memory at address 0xfffffff0")
        #expect(s.machine.cpu.cr2 == 0)
    }
}
