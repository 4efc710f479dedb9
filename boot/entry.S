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
 */
#include "arch/x86/asm.h"

#define MULTIBOOT_MAGIC 0x1BADB002
#define MULTIBOOT_PAGE_ALIGN (1 << 0)
#define MULTIBOOT_MEMORY_INFO (1 << 1)
#define MULTIBOOT_FLAGS (MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO)

#define EARLY_PAGE_TABLES (ASM_EARLY_MAP_MB / 4)
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

    /* Clear the page directory (do not rely on the loader zeroing .bss). */
    movl $PHYS(early_page_directory), %edi
    xorl %eax, %eax
    movl $1024, %ecx
    rep stosl

    /* Fill the page tables: entry i maps physical page i. */
    movl $PHYS(early_page_tables), %edi
    movl $(PTE_PRESENT | PTE_WRITE), %eax
    movl $(EARLY_PAGE_TABLES * 1024), %ecx
1:  stosl
    addl $4096, %eax
    loop 1b

    /* Unmap the page below the boot stack: an overflow then faults, and the
     * double-fault task (arch/x86/double_fault.cpp) reports it. */
    movl $PHYS(boot_stack_guard), %eax
    shrl $12, %eax
    movl $0, PHYS(early_page_tables)(, %eax, 4)

    /* Point PDEs 0.. (identity) and 768.. (KERNEL_VMA) at the same tables. */
    movl $PHYS(early_page_tables) + (PTE_PRESENT | PTE_WRITE), %eax
    movl $PHYS(early_page_directory), %edi
    xorl %ecx, %ecx
2:  movl %eax, (%edi, %ecx, 4)
    movl %eax, (ASM_KERNEL_VMA >> 22) * 4(%edi, %ecx, 4)
    addl $4096, %eax
    incl %ecx
    cmpl $EARLY_PAGE_TABLES, %ecx
    jne 2b

    movl $PHYS(early_page_directory), %eax
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

    .section .data
    .align 4
boot_magic:
    .long 0
boot_info_phys:
    .long 0

    .section .bss
    .align 4096
    .global early_page_directory
early_page_directory:
    .skip 4096
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
