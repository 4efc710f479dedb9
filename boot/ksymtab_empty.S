/* First link pass: an empty symbol table (see boot/ksymtab.S). */
    .section .ksymtab, "a"
    .align 4
