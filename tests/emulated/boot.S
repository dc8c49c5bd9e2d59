/* boot.S — boot sector and 64-bit start-up for the Bochs test images.
 *
 * The raw disk image is this 512-byte boot sector followed by the program
 * (.text/.rodata/.data, linked at 0x10000 by emu.ld).  The BIOS loads the
 * sector to 0x7C00; it reads the program with int 13h, builds an identity
 * map of the first 1 GiB, switches straight from real mode to long mode and
 * jumps to long_entry, which enables SSE/AVX/AVX-512 state, installs an IDT
 * for the 32 exceptions and calls kmain().
 *
 * Low memory used: 0x1000-0x3FFF page tables (PML4, PDPT, PD), below
 * 0x7C00 the real-mode stack, 0x7C00 this sector (its GDT stays in use). */

#define PML4 0x1000
#define PDPT 0x2000
#define PD   0x3000
#define CHUNK 64            /* sectors per int 13h read: 32 KiB, segment-aligned */

/* ------------------------------------------------------------------------ */
        .section .boot, "ax"
        .code16
        .globl boot_start
boot_start:
        cli
        ljmp    $0, $1f                 /* some BIOSes enter at 07C0:0000 */
1:      xor     %ax, %ax
        mov     %ax, %ds
        mov     %ax, %es
        mov     %ax, %ss
        mov     $0x7C00, %sp
        cld
        mov     %dl, boot_drive         /* BIOS passes the boot drive in DL */

        /* Read __load_sectors sectors from LBA 1 to 0x1000:0000.  Each chunk
         * starts at offset 0 of a fresh segment, so no read crosses 64 KiB. */
        mov     $__load_sectors, %cx
        mov     $0x1000, %bx
read_chunk:
        mov     $CHUNK, %di
        cmp     %di, %cx
        jae     2f
        mov     %cx, %di                /* di = min(CHUNK, sectors left) */
2:      mov     %di, dap_count
        mov     %bx, dap_seg
        mov     $dap, %si
        mov     $0x42, %ah
        mov     boot_drive, %dl
        int     $0x13
        jc      disk_error
        add     %di, dap_lba
        sub     %di, %cx
        shl     $5, %di                 /* sectors -> paragraphs */
        add     %di, %bx
        test    %cx, %cx
        jnz     read_chunk

        /* A20 through the "fast A20" port; bit 0 would reset the machine. */
        in      $0x92, %al
        or      $2, %al
        and     $0xFE, %al
        out     %al, $0x92

        /* Page tables: PML4[0] -> PDPT, PDPT[0] -> PD, PD = 512 x 2 MiB. */
        xor     %eax, %eax
        mov     $PML4, %di
        mov     $(3 * 4096 / 4), %cx
        rep stosl
        movl    $(PDPT | 3), PML4       /* present | writable */
        movl    $(PD | 3), PDPT
        mov     $PD, %di
        mov     $0x83, %eax             /* present | writable | 2 MiB page */
        mov     $512, %cx
3:      mov     %eax, (%di)
        add     $0x200000, %eax
        add     $8, %di
        loop    3b

        /* Real mode straight to long mode: PAE, CR3, EFER.LME, then PE and
         * PG together; the far jump loads the 64-bit code segment.
         * Interrupts stay off for good (the BIOS calls may have set IF;
         * IRQ0 would arrive as vector 8, the #DF stub). */
        cli
        lgdt    gdt_desc
        mov     $0x20, %eax             /* CR4.PAE */
        mov     %eax, %cr4
        mov     $PML4, %eax
        mov     %eax, %cr3
        mov     $0xC0000080, %ecx       /* EFER */
        rdmsr
        or      $0x100, %eax            /* LME */
        wrmsr
        mov     %cr0, %eax
        or      $0x80000001, %eax       /* PG | PE */
        mov     %eax, %cr0
        ljmpl   $0x08, $long_entry

disk_error:
        mov     $disk_msg, %si
        mov     $0xE9, %dx
        call    out_string
        mov     $shutdown_msg, %si
        mov     $0x8900, %dx
        call    out_string
4:      hlt
        jmp     4b

/* Write the NUL-terminated string at DS:SI to I/O port DX. */
out_string:
        lodsb
        test    %al, %al
        jz      5f
        out     %al, %dx
        jmp     out_string
5:      ret

disk_msg:       .asciz "BOOT: disk read error\n"
shutdown_msg:   .asciz "Shutdown"

        .balign 8
gdt:    .quad   0
        .quad   0x00AF9A000000FFFF      /* 0x08: 64-bit code, DPL 0 */
        .quad   0x00CF92000000FFFF      /* 0x10: data, flat */
gdt_desc:
        .word   gdt_desc - gdt - 1
        .long   gdt

dap:    .byte   16, 0                   /* int 13h disk address packet */
dap_count: .word 0
        .word   0                       /* buffer offset */
dap_seg: .word  0
dap_lba: .quad  1
boot_drive: .byte 0

        .org    510
        .byte   0x55, 0xAA

/* ------------------------------------------------------------------------ */
        .section .text.entry, "ax"
        .code64
long_entry:
        mov     $0x10, %ax
        mov     %ax, %ds
        mov     %ax, %es
        mov     %ax, %ss
        mov     %ax, %fs
        mov     %ax, %gs

        /* Zero .bss (the stack and the IDT live there too). */
        mov     $__bss_start, %edi
        mov     $__bss_end, %ecx
        sub     %edi, %ecx
        shr     $3, %ecx                /* emu.ld aligns both ends to 8 */
        xor     %eax, %eax
        rep stosq
        mov     $stack_top, %rsp

        /* x87/SSE: no emulation (EM), no lazy-switch trap (TS), WAIT obeys
         * TS (MP), native FP error reporting (NE). */
        mov     %cr0, %rax
        and     $~0xC, %rax
        or      $0x22, %rax
        mov     %rax, %cr0
        fninit

        /* CR4.OSFXSR | OSXMMEXCPT; OSXSAVE only if CPUID.1:ECX.XSAVE, since
         * setting it otherwise faults. */
        mov     $1, %eax
        cpuid
        mov     %cr4, %rax
        or      $0x600, %rax
        bt      $26, %ecx
        jnc     6f
        bts     $18, %rax
        mov     %rax, %cr4
        /* XCR0 = supported & (x87|SSE|AVX|opmask|ZMM_Hi256|Hi16_ZMM|
         * TILECFG|TILEDATA); those come in valid groups from CPUID. */
        mov     $0xD, %eax
        xor     %ecx, %ecx
        cpuid
        and     $0x600E7, %eax
        xor     %edx, %edx
        xor     %ecx, %ecx
        xsetbv
        jmp     7f
6:      mov     %rax, %cr4
7:      ldmxcsr mxcsr_init

        /* IDT: 32 interrupt gates, stub i at isr_stubs + 16*i. */
        mov     $isr_stubs, %eax
        mov     $idt, %edi
        mov     $32, %ecx
8:      mov     %ax, (%rdi)             /* offset 15:0 */
        movw    $0x08, 2(%rdi)          /* code selector */
        movw    $0x8E00, 4(%rdi)        /* present, DPL 0, 64-bit interrupt gate */
        mov     %eax, %edx
        shr     $16, %edx
        mov     %dx, 6(%rdi)            /* offset 31:16; 63:32 stay zero */
        add     $16, %eax
        add     $16, %rdi
        loop    8b
        lidt    idt_desc

        call    emu_tls_init
        call    kmain
        xor     %edi, %edi              /* returning from kmain means success */
        call    emu_exit

/* Exception stubs: push a zero where the CPU pushes no error code, then the
 * vector, so isr_common always sees vector, error, rip, cs, rflags, ... */
        .macro  isr_stub vec
        .balign 16
        .if !(\vec == 8 || (\vec >= 10 && \vec <= 14) || \vec == 17 || \vec == 21 || \vec == 29 || \vec == 30)
        push    $0
        .endif
        push    $\vec
        jmp     isr_common
        .endm

        .balign 16
isr_stubs:
        .irp    v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        isr_stub \v
        .endr

isr_common:
        mov     (%rsp), %edi            /* vector */
        mov     8(%rsp), %rsi           /* error code */
        mov     16(%rsp), %rdx          /* faulting rip */
        and     $-16, %rsp              /* C calling convention alignment */
        call    emu_exception           /* prints, shuts down, never returns */

        .section .rodata
        .balign 4
mxcsr_init:
        .long   0x1F80                  /* all exceptions masked, round to nearest */
        .balign 8
idt_desc:
        .word   32 * 16 - 1
        .quad   idt

        .section .bss
        .balign 16
idt:    .skip   32 * 16
        .balign 64
stack:  .skip   256 * 1024
stack_top:

        .section .note.GNU-stack, "", @progbits
