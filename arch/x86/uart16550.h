// 16550 UART on COM1: the kernel console. Polled output, no interrupts.
#pragma once

#include "lib/types.h"

namespace x86 {

void uart_init();
void uart_write(const char* text, size_t len);

} // namespace x86
