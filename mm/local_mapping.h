// LocalMapping: a kmap_local mapping held for exactly one scope.
//
//   {
//       mm::LocalMapping src(from_page);
//       mm::LocalMapping dst(to_page);
//       lib::memcpy(dst.bytes(), src.bytes(), PAGE_SIZE);
//   }   // dst unmapped, then src: LIFO by construction
//
// It can be neither copied nor moved nor allocated with new, so the only
// way to have one is as a local, and destructors then release mappings in
// the reverse order of their creation: the LIFO rule becomes structural.
// What C++ cannot prevent - keeping the raw pointer past the scope, or
// handing it to another task - the kmap_local diagnostics still catch (the
// slot is unmapped and flushed: a later access faults).
#pragma once

#include "lib/types.h"
#include "mm/kmap_local.h"

namespace mm {

class [[nodiscard]] LocalMapping : Pinned {
public:
    explicit LocalMapping(Page* page) : m_addr(kmap_local_page(page)) {}
    LocalMapping(Page* page, x86::pte_t prot) : m_addr(kmap_local_page_prot(page, prot)) {}
    ~LocalMapping() { kunmap_local(m_addr); }

    void* get() const { return m_addr; }
    u8* bytes() const { return static_cast<u8*>(m_addr); }
    template <typename T>
    T* as() const {
        return static_cast<T*>(m_addr);
    }

    // Only as a local: no heap, no placement into longer-lived storage.
    static void* operator new(size_t) = delete;
    static void* operator new(size_t, void*) = delete;
    static void* operator new[](size_t) = delete;

private:
    void* m_addr;
};

} // namespace mm
