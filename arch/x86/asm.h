/* Constants shared with assembly. asm_offsets.cpp checks each one against its
 * C++ definition, so the two cannot drift apart. */
#pragma once

#define ASM_KERNEL_VMA 0xC0000000
#define ASM_EARLY_MAP_MB 16
#define ASM_SEL_KERNEL_CS 0x08
#define ASM_SEL_KERNEL_DS 0x10
#define ASM_SEL_PERCPU 0x18

#define ASM_FRAME_EBP 24
#define ASM_FRAME_EIP 56

#define ASM_CR0_MP (1 << 1)
#define ASM_CR0_EM (1 << 2)
#define ASM_CR0_TS (1 << 3)
#define ASM_CR0_NE (1 << 5)
#define ASM_CR0_WP (1 << 16)
#define ASM_CR0_PG (1 << 31)
#define ASM_CR4_PAE (1 << 5)
#define ASM_EXIT_FAIL 0x11              /* x86::ExitCode::Fail: QEMU exits with 35 */
