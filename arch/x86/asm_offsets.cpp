// Checks that the constants assembly uses (arch/x86/asm.h) match C++.
#include "arch/x86/asm.h"

#include "arch/x86/cpu.h"
#include "arch/x86/debug_exit.h"
#include "arch/x86/gdt.h"
#include "arch/x86/interrupt_frame.h"
#include "arch/x86/layout.h"

static_assert(ASM_KERNEL_VMA == x86::KERNEL_VMA);
static_assert(ASM_EARLY_MAP_MB * 1024 * 1024 == x86::EARLY_MAP_BYTES);
static_assert(ASM_SEL_KERNEL_CS == x86::SEL_KERNEL_CS);
static_assert(ASM_SEL_KERNEL_DS == x86::SEL_KERNEL_DS);
static_assert(ASM_SEL_PERCPU == x86::SEL_PERCPU);
static_assert(ASM_FRAME_EBP == __builtin_offsetof(x86::InterruptFrame, ebp));
static_assert(ASM_FRAME_EIP == __builtin_offsetof(x86::InterruptFrame, eip));
static_assert(ASM_CR0_EM == x86::CR0_EM && ASM_CR0_TS == x86::CR0_TS);
static_assert(ASM_CR0_WP == x86::CR0_WP && ASM_CR0_NE == x86::CR0_NE);
static_assert(static_cast<unsigned>(ASM_CR0_PG) == x86::CR0_PG);
static_assert(ASM_CR4_PAE == x86::CR4_PAE);
static_assert(ASM_EXIT_FAIL == static_cast<unsigned>(x86::ExitCode::Fail));
