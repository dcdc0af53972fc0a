# Lesson 7: memory — guest page tables, shadow page tables and EPT
# guest: demos/build/rings.elf
# technique: trap
# max-instructions: 20000000
#
# Three address spaces for one address: guest-linear → guest-physical (the
# guest's page tables) → host-physical (the monitor's choice).  Shadow page
# tables, a true and a hidden page fault, a traced page-table write; then
# EPT and the two-dimensional walk.  About 15 minutes.  References: Adams &
# Agesen, ASPLOS 2006, §2 (shadow structures, hidden faults, traces) and
# §6 (nested paging); Intel SDM Vol. 3A §4.3 (32-bit paging) and Vol. 3C
# §28.2 (EPT).

note *Lesson 7 — memory.*
note A guest kernel's page tables map its *linear* addresses to what it
note thinks is physical memory: *guest-physical* addresses.  The monitor
note puts guest memory somewhere else in the host — here at host-physical
note 8 MiB — so guest-physical is not host-physical, and the CPU's own
note paging must map guest-linear straight to *host-physical*.
note
note Under trap-and-emulate the monitor builds *shadow page tables* for
note that: a cache of the guest's tables with host frames in them, which
note the real CR3 points at.  Stop at test 10, which writes a read-only
note user page:
break *t_readonly + 5
continue
x/i $eip
focus memory
highlight &user_ro_page
info shadow &user_ro_page
expect-output PTE[266] at 0x00106428 = 0x0010a005 [ P U ]
expect-output no shadow entry yet
note The guest's PTE maps the page present, user, *read-only* (no W).  The
note shadow has no entry for it yet: shadow tables fill lazily.
pause

note *A true page fault.*  The store violates the guest's own PTE, so the
note guest must see the fault: the monitor *reflects* it to the guest's
note #PF handler, with the guest's error code and CR2.
stepi
traps --last 1
expect-output exception #PF  0x001022b4
expect $eip == exc_14
note The guest's handler makes the page writable by writing its PTE —
note and the monitor sees that write, because it keeps the pages of guest
note page tables *write-protected* in the shadow: a *trace*.
delete
tbreak *t_readonly + 15
continue
traps --kind pt-write --last 1
expect-output guest page-table write at gpa 0x00106428 performed; shadow entries from that table dropped
note The handler returns, the store runs again — and faults again, in the
note shadow only: the guest's PTE allows it, the shadow had no entry.  The
note monitor fills the entry and retries, and the guest never knows: a
note *hidden* page fault.
traps --kind shadow-fault --last 1
expect-output hidden fault: shadow entry 0x0010a000 -> host 0x0090a000
info shadow &user_ro_page
expect-output host-physical 0x0090a000 = guest-physical 0x0010a000 + 0x00800000
pause

note *What shadow paging costs.*  Hidden faults, traces and reflections
note are all trips into the monitor (2,000 to 2,800 modeled cycles here).
note Adams and Agesen call balancing them — fewer traces mean more hidden
note faults — both difficult and critical to a software VMM's speed.
stats
expect $_shadow_fault > 20 && $_pt_write == 2
pause

note *EPT.*  Nehalem's VT-x (2008) does the second translation in
note hardware: the *extended page tables*, the monitor's map from
note guest-physical to host-physical.  The guest keeps its own CR3; its
note page faults, CR3 loads and INVLPGs need no VM exit.  Same guest, same
note place, under VT-x with EPT:
technique vtx ept
delete
break *t_readonly + 5
continue
info vmcs
expect-output enable EPT
expect-output exception bitmap     0x00000000
info ept &user_ro_page
expect-output host-physical 0x0090a000
expect-output = 14 memory references on a TLB miss
note On a TLB miss the processor walks both at once: each of the guest's
note two entries is at a guest-physical address that needs a 4-level EPT
note walk first, and so does the final address — (2+1)(4+1) − 1 = 14
note memory references where native paging needs 2.  Ringside counts them:
print $_ept_walks
print $_ept_references
expect $_ept_references > 4 * $_ept_walks
pause

note *The exits that are gone.*  Run both to the end and compare:
delete
continue
stats
expect $_shadow_fault == 0 && $_pt_write == 0
technique vtx shadow
continue
stats
expect $_shadow_fault > 20
note With shadow paging the same VT-x monitor also takes #PF, CR3 and
note INVLPG exits; with EPT none of them: what remains is almost all the
note serial port's I/O.
note EPT trades exits for longer TLB misses — the right trade for kernels
note that change their page tables often.
