/*
 * Interrupt and exception entry stubs: one per vector, all 256.
 *
 * Each stub makes the stack uniform (a dummy error code where the CPU pushes
 * none, then the vector number) and joins interrupt_common, which saves the
 * registers into an InterruptFrame (interrupt_frame.h), builds a stack frame
 * that links to the interrupted code so backtraces cross the interrupt, and
 * calls interrupt_dispatch(frame).
 */
#include "arch/x86/asm.h"

    .section .text
    .align 16
    .type interrupt_common, @function
interrupt_common:
    pushal
    pushl %ds
    pushl %es
    pushl %fs
    pushl %gs
    movl $ASM_SEL_KERNEL_DS, %eax
    movl %eax, %ds
    movl %eax, %es
    movl $ASM_SEL_PERCPU, %eax
    movl %eax, %fs
    cld
    movl %esp, %ebx                 /* frame; %ebx is callee-saved */
    pushl ASM_FRAME_EIP(%ebx)           /* fake return address: interrupted EIP */
    pushl ASM_FRAME_EBP(%ebx)           /* and its frame pointer */
    movl %esp, %ebp
    pushl %ebx
    call interrupt_dispatch
    movl %ebx, %esp
    popl %gs
    popl %fs
    popl %es
    popl %ds
    popal
    addl $8, %esp                   /* vector and error code */
    iret
    .size interrupt_common, . - interrupt_common

/* Vectors for which the CPU pushes an error code. */
#define HAS_ERROR_CODE(v) ((v) == 8 || (v) == 10 || (v) == 11 || (v) == 12 || \
                           (v) == 13 || (v) == 14 || (v) == 17 || (v) == 21 || \
                           (v) == 29 || (v) == 30)

    .section .rodata
    .align 4
    .global interrupt_stub_table
interrupt_stub_table:

    .set vec, 0
    .rept 256
    .section .text
    .align 8
1:
    .if HAS_ERROR_CODE(vec)
    .else
    pushl $0                        /* dummy error code */
    .endif
    pushl $vec
    jmp interrupt_common
    .section .rodata
    .long 1b
    .set vec, vec + 1
    .endr

/*
 * The double-fault task starts here (its TSS's EIP) after a hardware task
 * switch. The CPU pushed the error code onto our fresh stack; the report
 * never returns, so it is simply left there.
 */
    .section .text
    .global double_fault_entry
    .type double_fault_entry, @function
double_fault_entry:
    xorl %ebp, %ebp
    call double_fault_task
1:  cli
    hlt
    jmp 1b
    .size double_fault_entry, . - double_fault_entry
