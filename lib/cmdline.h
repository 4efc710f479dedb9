// Kernel command-line parsing: `key=value` and bare flags, separated by
// blanks; double quotes protect blanks inside a value (`k="a b"`).
//
// Parameters are described by a table. Anything wrong with one argument (an
// unknown key, a flag given a value, a missing, empty, overlong or malformed
// value) is reported through the caller's reporter and that argument is
// ignored, so the parameter keeps its default. Nothing here is ever fatal.
#pragma once

#include "lib/types.h"

namespace cmdline {

// Longest command line kept (Linux x86 uses the same COMMAND_LINE_SIZE).
constexpr size_t MAX_LINE = 2048;
// Longest value accepted for any parameter.
constexpr size_t MAX_VALUE = 255;

enum class Kind {
    Flag,    // bool*: bare key sets it
    String,  // char[capacity]: NUL-terminated copy of the value
    Uint,    // u64*: decimal or 0x-hex
    Size,    // u64*: bytes, with an optional K/M/G suffix (powers of 1024)
    SizeAt,  // SizeAtList*: SIZE@ADDR, a Size at a Uint; every occurrence is kept
};

// One SIZE@ADDR value (pmem=16M@0x60000000).
struct SizeAt {
    u64 size = 0;
    u64 addr = 0;
};

// The values of a Kind::SizeAt parameter in command-line order. Unlike the
// other kinds, a later occurrence does not replace an earlier one: ranges
// add up, as with Linux's memmap=, and what several mean is for the consumer
// to decide (it can only do so if it sees them all).
struct SizeAtList {
    static constexpr unsigned CAPACITY = 8;
    SizeAt items[CAPACITY];
    unsigned count = 0;
};

struct Param {
    const char* key;
    Kind kind;
    void* dest;
    size_t capacity = 0;    // String only: size of dest, including the NUL
    bool* seen = nullptr;   // optional: set when a value was accepted
};

using Reporter = void (*)(void* context, const char* message);

struct Result {
    unsigned accepted = 0;
    unsigned rejected = 0;
};

// Parses `line`. With `skip_image_path`, a leading word that names the
// kernel image is dropped: QEMU's -kernel puts the image path first
// ("build/release/himem.elf ktest.list"), GRUB 2 does not. A word counts as
// the path when it has no '=' and contains a '/' or ends in ".elf".
// `truncated` says the caller had to cut the line: the last word may then be
// a fragment and is dropped, with a report.
Result parse(const char* line, const Param* params, size_t count, Reporter report, void* context,
             bool skip_image_path = false, bool truncated = false);

// Whether `word` looks like the kernel image path a loader put first.
bool looks_like_image_path(const char* word);

// Number parsers used by the table kinds; exposed for tests and other users.
// They reject empty input, trailing junk and overflow.
bool parse_uint(const char* text, size_t len, u64& out);
bool parse_size(const char* text, size_t len, u64& out);
bool parse_size_at(const char* text, size_t len, SizeAt& out);

} // namespace cmdline
