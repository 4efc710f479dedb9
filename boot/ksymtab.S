/* The kernel's symbol table, linked in the final pass (tools/mksymtab.py).
 * KSYMTAB_BIN names the table file; the first pass links boot/ksymtab_empty.S. */
    .section .ksymtab, "a"
    .align 4
    .incbin KSYMTAB_BIN
