; mbinfo.asm — prints what the boot loader handed over: EAX, EBX, the CPU
; state (CR0, EFLAGS, segment selectors, ESP, GDTR, IDTR) and the multiboot
; information structure (flags, mem_lower/mem_upper, boot_device, where the
; command line, modules, memory map and loader name are, the command line,
; the loader name, the memory map).  Ends with debug-exit 0x10 (status 33).
; expected/mbinfo.out is its output under `qemu-system-i386 -kernel
; tests/guests/mbinfo.bin -m 32 -append "hello world"` (QEMU 7.2, SeaBIOS);
; Ringside's must be the same but for the loader name.
%include "guest.inc"
        MULTIBOOT_ENTRY
        cld
        mov     [boot_eax], eax
               mov     [boot_ebx], ebx
        pushfd
        pop     dword [boot_eflags]
        mov     eax, cr0
        mov     [boot_cr0], eax

        PUTS    `eax=`
        mov     eax, [boot_eax]
        call    hex32
        PUTS    `\r\ncr0=`
        mov     eax, [boot_cr0]
        call    hex32
        PUTS    ` eflags=`
        mov     eax, [boot_eflags]
        call    hex32
        PUTS    `\r\ncs=`
        mov     ax, cs
        call    hex16
        PUTS    ` ds=`
        mov     ax, ds
        call    hex16
        PUTS    ` es=`
        mov     ax, es
        call    hex16
        PUTS    ` fs=`
        mov     ax, fs
        call    hex16
        PUTS    ` gs=`
        mov     ax, gs
        call    hex16
        PUTS    ` ss=`
        mov     ax, ss
        call    hex16

        mov     ebx, [boot_ebx]
        PUTS    `\r\nebx=`
        mov     eax, ebx
        call    hex32
        PUTS    ` esp=`
        mov     eax, [entry_esp]
        call    hex32
        sgdt    [dtr]
        PUTS    ` gdtr=`
        mov     eax, [dtr + 2]
        call    hex32
        PUTS    `/`
        movzx   eax, word [dtr]
        call    hex32
        sidt    [dtr]
        PUTS    ` idtr=`
        mov     eax, [dtr + 2]
        call    hex32
        PUTS    `/`
        movzx   eax, word [dtr]
        call    hex32
        PUTS    `\r\ncmdline_addr=`
        mov     eax, [ebx + 16]
        call    hex32
        PUTS    ` mods_addr=`
        mov     eax, [ebx + 24]
        call    hex32
        PUTS    ` mmap_addr=`
        mov     eax, [ebx + 48]
        call    hex32
        PUTS    ` mmap_length=`
        mov     eax, [ebx + 44]
        call    hex32
        PUTS    ` loader_addr=`
        mov     eax, [ebx + 64]
        call    hex32
        PUTS    `\r\nflags=`
        mov     eax, [ebx]
        call    hex32
        PUTS    ` mem_lower=`
        mov     eax, [ebx + 4]
        call    hex32
        PUTS    ` mem_upper=`
        mov     eax, [ebx + 8]
        call    hex32
        PUTS    ` boot_device=`
        mov     eax, [ebx + 12]
        call    hex32
        PUTS    `\r\nmods_count=`
        mov     eax, [ebx + 20]
        call    hex32

        PUTS    `\r\ncmdline=[`
        test    dword [ebx], 1 << 2
        jz      .nocmd
        mov     esi, [ebx + 16]
        call    puts
.nocmd: PUTS    `]\r\nloader=[`
        test    dword [ebx], 1 << 9
        jz      .noname
        mov     esi, [ebx + 64]
        call    puts
.noname:
        PUTS    `]\r\n`

        test    dword [ebx], 1 << 6
        jz      .done
        mov     esi, [ebx + 48]     ; mmap_addr
        mov     edi, esi
        add     edi, [ebx + 44]     ; + mmap_length
.entry: cmp     esi, edi
        jae     .done
        PUTS    `mmap size=`
        mov     eax, [esi]
        call    hex32
        PUTS    ` base=`
        mov     eax, [esi + 8]
        call    hex32
        mov     eax, [esi + 4]
        call    hex32
        PUTS    ` length=`
        mov     eax, [esi + 16]
        call    hex32
        mov     eax, [esi + 12]
        call    hex32
        PUTS    ` type=`
        mov     eax, [esi + 20]
        call    hex32
        PUTS    `\r\n`
        mov     eax, [esi]
        lea     esi, [esi + eax + 4]
        jmp     .entry
.done:
        mov     al, 0x10
        out     DEBUG_EXIT, al
        cli
        hlt

hex16:  push    eax
        push    ecx
        shl     eax, 16
        mov     ecx, 4
.d:     rol     eax, 4
        push    eax
        and     al, 0x0F
        add     al, '0'
        cmp     al, '9'
        jbe     .o
        add     al, 'a' - '9' - 1
.o:     call    putc
        pop     eax
        loop    .d
        pop     ecx
        pop     eax
        ret

        GUEST_LIBRARY
boot_eax:       dd 0
boot_ebx:       dd 0
boot_eflags:    dd 0
boot_cr0:       dd 0
dtr:            dw 0
                dd 0
