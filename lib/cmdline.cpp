#include "lib/cmdline.h"

#include "lib/format.h"
#include "lib/string.h"

namespace cmdline {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// One word of the line with its quotes removed.
struct Word {
    char text[MAX_VALUE + 64 + 2];
    size_t len = 0;       // characters kept in text
    size_t full_len = 0;  // characters the word really had
    bool unterminated_quote = false;
};

// Reads the word at `p` into `w` and returns the position after it.
const char* read_word(const char* p, Word& w) {
    bool quoted = false;
    w.len = w.full_len = 0;
    for (; *p && (quoted || !is_blank(*p)); ++p) {
        if (*p == '"') {
            quoted = !quoted;
            continue;
        }
        if (w.len + 1 < sizeof(w.text))
            w.text[w.len++] = *p;
        ++w.full_len;
    }
    w.text[w.len] = '\0';
    w.unterminated_quote = quoted;
    return p;
}

class Reports {
public:
    Reports(Reporter r, void* c) : m_report(r), m_context(c) {}

    void say(const char* fmt, ...) HIMEM_PRINTF(2, 3) {
        if (!m_report)
            return;
        char msg[160];
        va_list ap;
        va_start(ap, fmt);
        lib::vformat(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        m_report(m_context, msg);
    }

private:
    Reporter m_report;
    void* m_context;
};

// Shortened display of a word for messages: at most 40 characters.
struct Shown {
    char text[48];
    explicit Shown(const char* s, size_t len) {
        if (len > 40)
            lib::format(text, sizeof(text), "%.37s...", s);
        else
            lib::format(text, sizeof(text), "%.*s", static_cast<int>(len), s);
    }
};

// Reports a value its kind cannot parse; always false, for `return`.
bool malformed(Kind kind, const char* value, size_t len, Reports& reports, const Shown& key) {
    const char* what = kind == Kind::Uint ? "number"
                       : kind == Kind::Size ? "size (like 512M)"
                                            : "SIZE@ADDR (like 16M@0x60000000)";
    const Shown shown(value, len);
    reports.say("cmdline: %s: '%s' is not a valid %s, ignored", key.text, shown.text, what);
    return false;
}

bool accept(const Param& p, const char* value, size_t len, Reports& reports, const Shown& key) {
    switch (p.kind) {
    case Kind::Flag:
        *static_cast<bool*>(p.dest) = true;
        return true;
    case Kind::String:
        if (len + 1 > p.capacity) {
            reports.say("cmdline: %s: value of %zu bytes is longer than %zu, ignored", key.text, len,
                        p.capacity - 1);
            return false;
        }
        lib::memcpy(p.dest, value, len);
        static_cast<char*>(p.dest)[len] = '\0';
        return true;
    case Kind::Uint:
    case Kind::Size: {
        u64 v = 0;
        if (!(p.kind == Kind::Uint ? parse_uint(value, len, v) : parse_size(value, len, v)))
            return malformed(p.kind, value, len, reports, key);
        *static_cast<u64*>(p.dest) = v;
        return true;
    }
    case Kind::SizeAt: {
        SizeAt v;
        if (!parse_size_at(value, len, v))
            return malformed(p.kind, value, len, reports, key);
        auto& list = *static_cast<SizeAtList*>(p.dest);
        if (list.count == SizeAtList::CAPACITY) {
            const Shown shown(value, len);
            reports.say("cmdline: %s: more than %u values, '%s' ignored", key.text,
                        SizeAtList::CAPACITY, shown.text);
            return false;
        }
        list.items[list.count++] = v;
        return true;
    }
    }
    return false;
}

} // namespace

bool parse_uint(const char* s, size_t len, u64& out) {
    if (len == 0)
        return false;
    unsigned base = 10;
    if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        len -= 2;
    }
    u64 v = 0;
    for (size_t i = 0; i < len; ++i) {
        unsigned d;
        const char c = s[i];
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (base == 16 && c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (base == 16 && c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return false;
        if (v > (~u64{0} - d) / base)
            return false;  // overflow
        v = v * base + d;
    }
    out = v;
    return true;
}

bool parse_size(const char* s, size_t len, u64& out) {
    if (len == 0)
        return false;
    unsigned shift = 0;
    switch (s[len - 1]) {
    case 'k': case 'K': shift = 10; break;
    case 'm': case 'M': shift = 20; break;
    case 'g': case 'G': shift = 30; break;
    default: break;
    }
    if (shift)
        --len;
    u64 v = 0;
    if (!parse_uint(s, len, v))
        return false;
    if (shift && v > (~u64{0} >> shift))
        return false;
    out = v << shift;
    return true;
}

bool parse_size_at(const char* s, size_t len, SizeAt& out) {
    size_t size_len = 0;
    while (size_len < len && s[size_len] != '@')
        ++size_len;
    if (size_len == len)
        return false;
    SizeAt v;
    if (!parse_size(s, size_len, v.size) || !parse_uint(s + size_len + 1, len - size_len - 1, v.addr))
        return false;
    out = v;
    return true;
}

bool looks_like_image_path(const char* word) {
    if (lib::strchr(word, '='))
        return false;
    const size_t n = lib::strlen(word);
    return lib::strchr(word, '/') || (n >= 4 && lib::strcmp(word + n - 4, ".elf") == 0);
}

Result parse(const char* line, const Param* params, size_t count, Reporter report, void* context,
             bool skip_image_path, bool truncated) {
    Result result;
    Reports reports(report, context);
    if (!line)
        return result;

    const size_t line_len = lib::strnlen(line, MAX_LINE + 1);
    if (line_len > MAX_LINE || truncated) {
        reports.say("cmdline: command line longer than %zu bytes; the cut-off last word is ignored",
                    MAX_LINE);
        truncated = true;
    }
    const char* const end = line + (line_len > MAX_LINE ? MAX_LINE : line_len);

    // Work on a bounded copy so an unterminated or overlong input cannot run on.
    char copy[MAX_LINE + 1];
    lib::memcpy(copy, line, static_cast<size_t>(end - line));
    copy[end - line] = '\0';

    Word word;
    const char* p = copy;
    bool first = true;
    for (;;) {
        while (*p && is_blank(*p))
            ++p;
        if (!*p)
            break;
        p = read_word(p, word);
        if (first && skip_image_path && looks_like_image_path(word.text)) {
            first = false;
            continue;
        }
        first = false;
        if (truncated && !*p) {
            const Shown shown(word.text, word.len);
            reports.say("cmdline: dropped '%s' (cut off at the length limit)", shown.text);
            ++result.rejected;
            break;
        }

        const char* eq = lib::strchr(word.text, '=');
        const size_t key_len = eq ? static_cast<size_t>(eq - word.text) : word.len;
        const Shown key(word.text, key_len);
        if (word.unterminated_quote) {
            reports.say("cmdline: %s: unterminated quote, ignored", key.text);
            ++result.rejected;
            continue;
        }
        if (key_len == 0) {
            const Shown shown(word.text, word.len);
            reports.say("cmdline: '%s': empty parameter name, ignored", shown.text);
            ++result.rejected;
            continue;
        }

        const Param* param = nullptr;
        for (size_t i = 0; i < count; ++i) {
            if (lib::strlen(params[i].key) == key_len &&
                lib::strncmp(params[i].key, word.text, key_len) == 0) {
                param = &params[i];
                break;
            }
        }
        if (!param) {
            reports.say("cmdline: unknown parameter '%s', ignored", key.text);
            ++result.rejected;
            continue;
        }

        const size_t value_len = eq ? word.full_len - key_len - 1 : 0;
        bool ok = false;
        if (param->kind == Kind::Flag && eq) {
            reports.say("cmdline: %s is a flag and takes no value, ignored", key.text);
        } else if (param->kind != Kind::Flag && !eq) {
            reports.say("cmdline: %s needs a value (%s=...), ignored", key.text, key.text);
        } else if (param->kind != Kind::Flag && value_len == 0) {
            reports.say("cmdline: %s has an empty value, default kept", key.text);
        } else if (value_len > MAX_VALUE) {
            reports.say("cmdline: %s: value of %zu bytes is longer than %zu, ignored", key.text,
                        value_len, MAX_VALUE);
        } else {
            ok = accept(*param, eq ? eq + 1 : nullptr, value_len, reports, key);
        }
        if (ok) {
            ++result.accepted;
            if (param->seen)
                *param->seen = true;
        } else {
            ++result.rejected;
        }
    }
    return result;
}

} // namespace cmdline
