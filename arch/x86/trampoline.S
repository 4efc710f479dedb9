/*
 * The AP trampoline. A STARTUP IPI with vector 0x08 starts an AP in real mode
 * at CS:IP = 0x0800:0000, i.e. physical 0x8000, where the boot CPU copied
 * this blob (smp_boot.cpp). It switches to protected mode with a flat GDT
 * of its own, loads the kernel's CR4 (PAE before paging, with PAE) and CR3,
 * sets the boot CPU's EFER bits (NXE: with it off, the kernel's NX entries
 * are reserved bits and every walk through them faults), and turns paging
 * on (the page
 * is identity-mapped for this moment only), then jumps to ap_entry in the
 * higher half on the stack the boot CPU prepared.
 *
 * The blob runs at a different address than it is linked at, so every
 * absolute address in it is written as T(label).
 */
#include "arch/x86/asm.h"

#define TRAMPOLINE_PHYS 0x8000
#define T(label) (TRAMPOLINE_PHYS + ((label) - trampoline_start))

    .section .rodata
    .align 16
    .global trampoline_start
    .code16
trampoline_start:
    cli
    cld
    xorw %ax, %ax
    movw %ax, %ds
    lgdtl T(trampoline_gdtr)
    movl %cr0, %eax
    orl $1, %eax                      /* PE */
    movl %eax, %cr0
    ljmpl $0x08, $T(trampoline_32)

    .code32
trampoline_32:
    movl $0x10, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl T(trampoline_cr4), %eax
    movl %eax, %cr4
    movl T(trampoline_cr3), %eax
    movl %eax, %cr3
    movl T(trampoline_efer), %ebx
    testl %ebx, %ebx
    jz 1f
    movl $0xc0000080, %ecx            /* MSR_EFER */
    rdmsr
    orl %ebx, %eax
    wrmsr
1:
    movl %cr0, %eax
    orl $(ASM_CR0_PG | ASM_CR0_WP | ASM_CR0_NE | ASM_CR0_EM | ASM_CR0_TS), %eax
    andl $~ASM_CR0_MP, %eax
    movl %eax, %cr0
    movl T(trampoline_stack), %esp
    movl T(trampoline_cpu), %ebx
    movl T(trampoline_entry), %eax
    jmp *%eax

    .align 8
trampoline_gdt:
    .quad 0
    .quad 0x00cf9a000000ffff          /* flat 32-bit code */
    .quad 0x00cf92000000ffff          /* flat 32-bit data */
trampoline_gdtr:
    .word 23
    .long T(trampoline_gdt)

    .align 4
    .global trampoline_cr3, trampoline_cr4, trampoline_stack, trampoline_entry, trampoline_cpu
    .global trampoline_efer
trampoline_cr3:   .long 0
trampoline_efer:  .long 0
trampoline_cr4:   .long 0
trampoline_stack: .long 0
trampoline_entry: .long 0
trampoline_cpu:   .long 0
    .global trampoline_end
trampoline_end:

/* Higher-half landing point of an AP: %ebx holds its CPU index. */
    .section .text
    .global ap_entry
    .type ap_entry, @function
ap_entry:
    xorl %ebp, %ebp
    pushl %ebx
    call ap_start
1:  cli
    hlt
    jmp 1b
    .size ap_entry, . - ap_entry
