// Keyed pages for the protection-key tests (pks_test.cpp, pks_step_test.cpp):
// a block of highmem pages tagged with a test key for a scope, each filled
// with words naming its frame, and probes that try an access without
// faulting fatally.
#pragma once

#include "arch/x86/nofault.h"
#include "lib/types.h"
#include "mm/buddy.h"
#include "mm/local_mapping.h"
#include "mm/pkmap.h"
#include "mm/pks.h"
#include "tests/ktest/ktest.h"

namespace test_support {

using namespace mm;

inline u32 word_of(Pfn pfn, u32 i) { return 0x9d57e000u ^ (pfn.value() * 0x9e3779b1u) ^ i; }

// A block of 2^order highmem pages, each filled with words naming its frame,
// then tagged with `key` for the life of this object.
class KeyedPages : Pinned {
public:
    KeyedPages(unsigned key, unsigned order) : m_order(order) {
        m_block = alloc_pages(Gfp::HighUser, order);
        if (!m_block)
            return;
        for (unsigned i = 0; i < count(); ++i) {
            if (!is_highmem(m_block + i))
                return;
            LocalMapping map(m_block + i);
            for (u32 w = 0; w < PAGE_SIZE / 4; ++w)
                map.as<u32>()[w] = word_of(page_to_pfn(m_block + i), w);
        }
        m_range = {page_to_pfn(m_block), page_to_pfn(m_block) + count()};
        m_tagged = pks_tag_frames(m_range, key);
    }
    ~KeyedPages() {
        if (m_tagged) {
            kmap_flush_unused();   // no pool entry may outlive the tag
            pks_untag_frames(m_range);
        }
        if (m_block)
            free_pages(m_block, m_order);
    }
    bool ok() const { return m_tagged; }
    unsigned count() const { return 1u << m_order; }
    Page* operator[](unsigned i) const { return m_block + i; }

private:
    unsigned m_order;
    Page* m_block = nullptr;
    PfnRange m_range{};
    bool m_tagged = false;
};

#define NEED_KEYED_PAGES(name, key, order)                                        \
    KeyedPages name(key, order);                                                  \
    if (!name.ok())                                                               \
        KTEST_SKIP("needs a block of free highmem pages")

inline bool readable(const void* va) {
    u32 v;
    return x86::nofault_read32(va, &v).ok;
}
inline bool writable(void* va) {
    u32 v = 0;
    if (!x86::nofault_read32(va, &v).ok)
        return false;
    return x86::nofault_write32(va, v).ok;   // writes back what is there
}
// Word 0 of the page at `va` names frame `pfn`.
inline bool shows(const void* va, Page* page) {
    u32 v;
    return x86::nofault_read32(va, &v).ok && v == word_of(page_to_pfn(page), 0);
}

} // namespace test_support
