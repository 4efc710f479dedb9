#include "lib/format.h"

namespace lib {
namespace {

// Output cursor that counts everything but stores only what fits.
struct Out {
    char* buf;
    size_t size;
    size_t len = 0;

    void put(char c) {
        if (len + 1 < size)
            buf[len] = c;
        ++len;
    }
    void repeat(char c, int n) {
        while (n-- > 0)
            put(c);
    }
};

struct Spec {
    bool left = false;
    bool zero = false;
    bool plus = false;
    bool space = false;
    bool alt = false;
    int width = 0;
    int precision = -1;
};

enum class Length { Int, Char, Short, Long, LongLong, Size, PtrDiff, Max };

void emit_number(Out& out, u64 value, bool negative, unsigned base, bool upper, const Spec& spec) {
    const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0;
    // Precision 0 with value 0 prints no digits, as in C.
    if (value != 0 || spec.precision != 0) {
        do {
            if (base == 16) {
                tmp[n++] = digits[value & 0xf];
                value >>= 4;
            } else if (base == 8) {
                tmp[n++] = digits[value & 7];
                value >>= 3;
            } else {
                tmp[n++] = digits[value % 10];
                value /= 10;
            }
        } while (value);
    }

    char sign = 0;
    if (negative)
        sign = '-';
    else if (spec.plus)
        sign = '+';
    else if (spec.space)
        sign = ' ';

    const char* prefix = "";
    if (spec.alt && base == 16 && n > 0 && !(n == 1 && tmp[0] == '0'))
        prefix = upper ? "0X" : "0x";
    else if (spec.alt && base == 8 && (n == 0 || tmp[n - 1] != '0'))
        prefix = "0";
    int prefix_len = 0;
    while (prefix[prefix_len])
        ++prefix_len;

    const int zeros_for_precision = spec.precision > n ? spec.precision - n : 0;
    const int body = (sign ? 1 : 0) + prefix_len + zeros_for_precision + n;
    int pad = spec.width > body ? spec.width - body : 0;
    // '0' pads after the sign and prefix; it is ignored with '-' or a precision.
    const bool zero_pad = spec.zero && !spec.left && spec.precision < 0;

    if (!spec.left && !zero_pad)
        out.repeat(' ', pad);
    if (sign)
        out.put(sign);
    for (int i = 0; i < prefix_len; ++i)
        out.put(prefix[i]);
    if (zero_pad)
        out.repeat('0', pad);
    out.repeat('0', zeros_for_precision);
    while (n > 0)
        out.put(tmp[--n]);
    if (spec.left)
        out.repeat(' ', pad);
}

void emit_string(Out& out, const char* s, const Spec& spec) {
    if (!s)
        s = "(null)";
    int n = 0;
    while (s[n] && (spec.precision < 0 || n < spec.precision))
        ++n;
    const int pad = spec.width > n ? spec.width - n : 0;
    if (!spec.left)
        out.repeat(' ', pad);
    for (int i = 0; i < n; ++i)
        out.put(s[i]);
    if (spec.left)
        out.repeat(' ', pad);
}

u64 fetch_unsigned(va_list& ap, Length len) {
    switch (len) {
    case Length::Char: return static_cast<unsigned char>(va_arg(ap, unsigned int));
    case Length::Short: return static_cast<unsigned short>(va_arg(ap, unsigned int));
    case Length::Long: return va_arg(ap, unsigned long);
    case Length::LongLong: return va_arg(ap, unsigned long long);
    case Length::Size: return va_arg(ap, size_t);
    case Length::PtrDiff: return static_cast<u64>(va_arg(ap, ptrdiff_t));
    case Length::Max: return va_arg(ap, uintmax_t);
    case Length::Int: break;
    }
    return va_arg(ap, unsigned int);
}

i64 fetch_signed(va_list& ap, Length len) {
    switch (len) {
    case Length::Char: return static_cast<signed char>(va_arg(ap, int));
    case Length::Short: return static_cast<short>(va_arg(ap, int));
    case Length::Long: return va_arg(ap, long);
    case Length::LongLong: return va_arg(ap, long long);
    case Length::Size: return static_cast<i64>(va_arg(ap, size_t));
    case Length::PtrDiff: return va_arg(ap, ptrdiff_t);
    case Length::Max: return va_arg(ap, intmax_t);
    case Length::Int: break;
    }
    return va_arg(ap, int);
}

} // namespace

size_t vformat(char* buf, size_t size, const char* fmt, va_list ap_in) {
    Out out{buf, size};
    va_list ap;
    va_copy(ap, ap_in);

    for (const char* p = fmt; *p; ++p) {
        if (*p != '%') {
            out.put(*p);
            continue;
        }
        const char* start = p++;
        Spec spec;
        for (;; ++p) {
            if (*p == '-') spec.left = true;
            else if (*p == '0') spec.zero = true;
            else if (*p == '+') spec.plus = true;
            else if (*p == ' ') spec.space = true;
            else if (*p == '#') spec.alt = true;
            else break;
        }
        if (*p == '*') {
            spec.width = va_arg(ap, int);
            if (spec.width < 0) {
                spec.left = true;
                spec.width = -spec.width;
            }
            ++p;
        } else {
            while (*p >= '0' && *p <= '9')
                spec.width = spec.width * 10 + (*p++ - '0');
        }
        if (*p == '.') {
            ++p;
            spec.precision = 0;
            if (*p == '*') {
                spec.precision = va_arg(ap, int);
                if (spec.precision < 0)
                    spec.precision = -1;
                ++p;
            } else {
                while (*p >= '0' && *p <= '9')
                    spec.precision = spec.precision * 10 + (*p++ - '0');
            }
        }
        Length len = Length::Int;
        if (p[0] == 'h' && p[1] == 'h') { len = Length::Char; p += 2; }
        else if (p[0] == 'h') { len = Length::Short; ++p; }
        else if (p[0] == 'l' && p[1] == 'l') { len = Length::LongLong; p += 2; }
        else if (p[0] == 'l') { len = Length::Long; ++p; }
        else if (p[0] == 'z') { len = Length::Size; ++p; }
        else if (p[0] == 't') { len = Length::PtrDiff; ++p; }
        else if (p[0] == 'j') { len = Length::Max; ++p; }

        switch (*p) {
        case 'd':
        case 'i': {
            const i64 v = fetch_signed(ap, len);
            const u64 mag = v < 0 ? 0 - static_cast<u64>(v) : static_cast<u64>(v);
            emit_number(out, mag, v < 0, 10, false, spec);
            break;
        }
        case 'u': emit_number(out, fetch_unsigned(ap, len), false, 10, false, spec); break;
        case 'x': emit_number(out, fetch_unsigned(ap, len), false, 16, false, spec); break;
        case 'X': emit_number(out, fetch_unsigned(ap, len), false, 16, true, spec); break;
        case 'o': emit_number(out, fetch_unsigned(ap, len), false, 8, false, spec); break;
        case 'c': {
            const int pad = spec.width > 1 ? spec.width - 1 : 0;
            if (!spec.left)
                out.repeat(' ', pad);
            out.put(static_cast<char>(va_arg(ap, int)));
            if (spec.left)
                out.repeat(' ', pad);
            break;
        }
        case 's': emit_string(out, va_arg(ap, const char*), spec); break;
        case 'p': {
            // Always the full pointer width, so columns of addresses line up.
            const auto v = reinterpret_cast<uintptr_t>(va_arg(ap, void*));
            char tmp[2 + 2 * sizeof(void*) + 1];
            Out t{tmp, sizeof(tmp)};
            t.put('0');
            t.put('x');
            Spec digits;
            digits.precision = static_cast<int>(2 * sizeof(void*));
            emit_number(t, v, false, 16, false, digits);
            tmp[t.len < sizeof(tmp) ? t.len : sizeof(tmp) - 1] = '\0';
            Spec s_spec = spec;
            s_spec.precision = -1;
            emit_string(out, tmp, s_spec);
            break;
        }
        case '%': out.put('%'); break;
        default:
            // Unknown or truncated conversion: show it verbatim.
            for (const char* q = start; q <= p && *q; ++q)
                out.put(*q);
            if (!*p)
                --p;
            break;
        }
    }
    va_end(ap);
    if (size)
        buf[out.len < size ? out.len : size - 1] = '\0';
    return out.len;
}

size_t format(char* buf, size_t size, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    const size_t n = vformat(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

} // namespace lib
