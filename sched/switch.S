/*
 * The context switch: callee-saved registers and the stack pointer.
 *
 *   Task* switch_to(Task* prev, Task* next)
 *
 * Saves %ebp, %ebx, %esi, %edi on prev's stack and the stack pointer in
 * prev->saved_esp, loads next's, restores its registers and returns on its
 * stack. The return value (%eax) is prev, the task that was running before
 * this CPU came back to `next` (Linux's `last`): finish_task_switch() needs
 * it, and it is not the `prev` next's own frame remembers.
 *
 * A new task's stack is built so that this `ret` lands in task_start with
 * %eax = the previous task.
 */
#define TASK_SAVED_ESP 0

    .section .text
    .global switch_to
    .type switch_to, @function
switch_to:
    movl 4(%esp), %eax
    movl 8(%esp), %edx
    pushl %ebp
    pushl %ebx
    pushl %esi
    pushl %edi
    movl %esp, TASK_SAVED_ESP(%eax)
    movl TASK_SAVED_ESP(%edx), %esp
    popl %edi
    popl %esi
    popl %ebx
    popl %ebp
    ret
    .size switch_to, . - switch_to

    .global task_start
    .type task_start, @function
task_start:
    xorl %ebp, %ebp                   /* the end of this task's frame chain */
    pushl %eax
    call task_bootstrap               /* never returns */
1:  cli
    hlt
    jmp 1b
    .size task_start, . - task_start
