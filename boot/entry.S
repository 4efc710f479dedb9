/*
 * Multiboot v1 entry.
 *
 * The loader (GRUB, or QEMU's -kernel) enters _start in 32-bit protected mode
 * with paging off, %eax = the Multiboot magic and %ebx = the physical address
 * of the Multiboot information. This code runs at its physical address (the
 * .boot section is linked at 1 MiB with VMA == LMA) and:
 *
 *   1. saves %eax/%ebx,
 *   2. builds early page tables that map the first ASM_EARLY_MAP_MB MiB of physical
 *      memory twice: identity (for the instructions right after enabling
 *      paging) and at KERNEL_VMA (the higher half the kernel is linked at),
 *   3. enables paging with CR0.WP, and CR0.EM/TS so any FPU/SSE instruction
 *      traps (#NM/#UD) with a report instead of corrupting state,
 *   4. jumps to the higher half, switches to the boot stack and calls
 *      boot_start(magic, info) in boot/main.cpp.
 *
 * The early tables use 4 KiB pages: large pages near the kernel make every
 * invlpg a full software-TLB flush under TCG (design.md, deviations).
 *
 * They have the paging method's shape (arch/x86/paging/): with 2-level
 * paging one page directory of 4-byte entries; with PAE (HIMEM_PAE) 8-byte
 * entries, four page directories back to back (one array indexed by
 * va >> PMD_SHIFT, as mm/pgtable.cpp indexes swapper_pg_dir) under a
 * four-entry PDPT, and CR4.PAE set before paging goes on.
 */
#include "arch/x86/asm.h"

#define MULTIBOOT_MAGIC 0x1BADB002
#define MULTIBOOT_PAGE_ALIGN (1 << 0)
#define MULTIBOOT_MEMORY_INFO (1 << 1)
#define MULTIBOOT_FLAGS (MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO)

#if HIMEM_PAE
#define ENTRY_BYTES 8
#define PMD_SHIFT 21
#else
#define ENTRY_BYTES 4
#define PMD_SHIFT 22
#endif
#define PTRS_PER_PTE (4096 / ENTRY_BYTES)
#define PTRS_PER_PD (1 << (32 - PMD_SHIFT))     /* the whole directory array */
#define EARLY_PAGE_TABLES ((ASM_EARLY_MAP_MB << 20) >> PMD_SHIFT)
#define PTE_PRESENT 0x1
#define PTE_WRITE 0x2
#define PHYS(sym) ((sym) - ASM_KERNEL_VMA)

    .section .multiboot, "a"
    .align 4
    .long MULTIBOOT_MAGIC
    .long MULTIBOOT_FLAGS
    .long -(MULTIBOOT_MAGIC + MULTIBOOT_FLAGS)

    .section .boot.text, "ax"
    .global _start
    .type _start, @function
_start:
    cli
    cld
    movl %eax, PHYS(boot_magic)
    movl %ebx, PHYS(boot_info_phys)

#if HIMEM_PAE
    /* On a CPU without PAE, setting CR4.PAE is a #GP with no IDT yet: a
     * triple fault, and nothing on the console. Say why on COM1 and end
     * through the debug-exit device with the failure status instead. */
    movl $1, %eax
    cpuid
    testl $(1 << 6), %edx
    jnz 7f
    movl $PHYS(no_pae_message), %esi
4:  movb (%esi), %cl
    testb %cl, %cl
    jz 6f
    movw $0x3fd, %dx                  /* line status: wait for an empty holding register */
5:  inb %dx, %al
    testb $0x20, %al
    jz 5b
    movw $0x3f8, %dx
    movb %cl, %al
    outb %al, %dx
    incl %esi
    jmp 4b
6:  movw $0xf4, %dx
    movl $ASM_EXIT_FAIL, %eax
    outl %eax, %dx
8:  hlt
    jmp 8b
7:
#endif

    /* Clear the page directory (do not rely on the loader zeroing .bss). */
    movl $PHYS(early_page_directory), %edi
    xorl %eax, %eax
    movl $(PTRS_PER_PD * ENTRY_BYTES / 4), %ecx
    rep stosl

    /* Fill the page tables: entry i maps physical page i (with PAE, a zero
     * high word: the first 16 MiB are far below 4 GiB). */
    movl $PHYS(early_page_tables), %edi
    movl $(PTE_PRESENT | PTE_WRITE), %eax
    movl $(EARLY_PAGE_TABLES * PTRS_PER_PTE), %ecx
1:  movl %eax, (%edi)
#if HIMEM_PAE
    movl $0, 4(%edi)
#endif
    addl $ENTRY_BYTES, %edi
    addl $4096, %eax
    loop 1b

    /* Unmap the page below the boot stack: an overflow then faults, and the
     * double-fault task (arch/x86/double_fault.cpp) reports it. */
    movl $PHYS(boot_stack_guard), %eax
    shrl $12, %eax
    movl $0, PHYS(early_page_tables)(, %eax, ENTRY_BYTES)

    /* Point the PDEs of the identity map and of KERNEL_VMA at the same
     * tables (the high words stay 0 from the clearing above). */
    movl $PHYS(early_page_tables) + (PTE_PRESENT | PTE_WRITE), %eax
    movl $PHYS(early_page_directory), %edi
    xorl %ecx, %ecx
2:  movl %eax, (%edi, %ecx, ENTRY_BYTES)
    movl %eax, (ASM_KERNEL_VMA >> PMD_SHIFT) * ENTRY_BYTES(%edi, %ecx, ENTRY_BYTES)
    addl $4096, %eax
    incl %ecx
    cmpl $EARLY_PAGE_TABLES, %ecx
    jne 2b

#if HIMEM_PAE
    /* The PDPT: one entry per page directory, Present only (writable and
     * user are reserved bits in a PDPTE). Then CR4.PAE, before paging. */
    movl $PHYS(early_pdpt), %edi
    movl $PHYS(early_page_directory) + PTE_PRESENT, %eax
    movl $4, %ecx
3:  movl %eax, (%edi)
    movl $0, 4(%edi)
    addl $8, %edi
    addl $4096, %eax
    loop 3b
    movl %cr4, %eax
    orl $ASM_CR4_PAE, %eax
    movl %eax, %cr4
    movl $PHYS(early_pdpt), %eax
#else
    movl $PHYS(early_page_directory), %eax
#endif
    movl %eax, %cr3

    movl %cr0, %eax
    orl $(ASM_CR0_PG | ASM_CR0_WP | ASM_CR0_NE | ASM_CR0_EM | ASM_CR0_TS), %eax
    andl $~ASM_CR0_MP, %eax
    movl %eax, %cr0

    movl $higher_half, %eax
    jmp *%eax
    .size _start, . - _start

    .section .text
    .type higher_half, @function
higher_half:
    movl $boot_stack_top, %esp
    xorl %ebp, %ebp                   /* ends the frame-pointer chain */
    pushl boot_info_phys
    pushl boot_magic
    call boot_start
    /* boot_start does not return. */
3:  cli
    hlt
    jmp 3b
    .size higher_half, . - higher_half

#if HIMEM_PAE
    .section .rodata
no_pae_message:
    .asciz "himem: this kernel is the PAE build, and this CPU has no PAE (CPUID 1, EDX bit 6); boot the 2-level build, or give QEMU a CPU with PAE (-cpu qemu32)\r\n"
#endif

    .section .data
#if HIMEM_PAE
    .align 32
    .global early_pdpt
early_pdpt:
    .skip 32
#endif
    .align 4
boot_magic:
    .long 0
boot_info_phys:
    .long 0

    .section .bss
    .align 4096
    .global early_page_directory
early_page_directory:
    .skip PTRS_PER_PD * ENTRY_BYTES
    .global early_page_tables
early_page_tables:
    .skip 4096 * EARLY_PAGE_TABLES
    .global boot_stack_guard
boot_stack_guard:
    .skip 4096
    .global boot_stack_bottom
boot_stack_bottom:
    .skip 16384
    .global boot_stack_top
boot_stack_top:
