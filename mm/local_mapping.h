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
//
// What C++ cannot prevent - keeping the raw pointer past the scope, or
// handing it to another task - nothing catches reliably. The address is a
// slot of this CPU's block, in page tables every CPU shares:
//   - on this CPU, after the release (or from another task while the owner
//     is switched out, which clears its slots): a fault, but only until the
//     slot is reused by the next mapping at that position on this CPU -
//     this task's, another task's (made, or restored at a switch) or an
//     interrupt's; from then on the pointer reaches that page, silently;
//   - on another CPU: whatever this CPU has in the slot at that moment (a
//     fault only if it is empty), or the released page itself while that
//     CPU's TLB keeps the translation: the release flushes this CPU only.
#pragma once

#include "lib/types.h"
#include "mm/kmap_local.h"

namespace mm {

class [[nodiscard]] LocalMapping : Pinned {
public:
    explicit LocalMapping(Page* page) : m_addr(kmap_local_page(page)) {}
    LocalMapping(Page* page, x86::PteFlags prot) : m_addr(kmap_local_page_prot(page, prot)) {}
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
