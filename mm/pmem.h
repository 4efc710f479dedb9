// The protected domain (issue 17, item 2): one physical range of highmem,
// given on the command line as pmem=SIZE@ADDR, whose pages carry a
// protection key and which nothing allocates from by accident.
//
// The domain:
//   - is one per boot: the first pmem= value that passes every check below
//     becomes it; every other value is refused with one line saying why, and
//     the boot goes on (without a domain if none passed);
//   - is page-aligned and not empty, lies wholly in usable RAM as mm_init
//     finally uses it (after mem= and highmem=), wholly in highmem, and
//     overlaps no memblock reservation;
//   - is reserved in memblock as "pmem" before the buddy allocator takes the
//     free ranges, so the buddy allocator never holds its pages. They keep
//     their struct pages (zone HIGHMEM, state Reserved: the buddy allocator
//     refuses them if one is freed there by mistake);
//   - is highmem only, so it is never in the direct map: a domain page is
//     reached only through a temporary mapping, where keys take effect;
//   - is allocated from explicitly, a page at a time (pmem_alloc_page).
//
// The domain's key is allocated from the protection keys (mm/pks.h) under
// the name "pmem" when the domain is created, and its frames are tagged
// with it there: the key of a page is kept outside the PTE (spec §9.3: a
// 2-level PTE has no bits for one), and pks_frame_key() answers for every
// frame, a range check away. Linux's PKS/PMEM series likewise keyed whole
// device ranges (a dev_pagemap), not single pages.
//
// Context: pmem_init runs once, in mm_init on the boot CPU. It writes the
// domain's bounds before any other CPU runs or any page is mapped, and
// nothing writes them again, so readers take no lock. pmem_alloc_page and
// pmem_free_page take the domain's lock with interrupts saved: any context
// except NMI.
#pragma once

#include "lib/cmdline.h"
#include "mm/page.h"

namespace mm {

struct PmemDomain {
    Pfn start;
    u32 pages = 0;            // 0: this boot has no domain
    u8 key = 0;               // its protection key (0: no domain)

    PfnRange range() const { return {start, start + pages}; }
};

// Boot: check the pmem= values in command-line order and make the first
// that passes the domain, with a protection key of its own. Called by
// mm_init after the lowmem/highmem split and the boot reservations, before
// the buddy allocator gets the free ranges.
void pmem_init(const cmdline::SizeAtList& requested);

namespace pmem_detail {
// Written by pmem_init only; read through the functions below.
extern PmemDomain domain;
} // namespace pmem_detail

inline const PmemDomain& pmem_domain() { return pmem_detail::domain; }

// Asked on every kmap_local map, so it is inline and reads two words that
// never change after boot: no call, no lock. One unsigned compare: a frame
// below the domain wraps around to a large offset.
inline bool is_pmem_pfn(Pfn pfn) {
    return pfn.value() - pmem_detail::domain.start.value() < pmem_detail::domain.pages;
}
inline bool is_pmem_page(const Page* page) { return is_pmem_pfn(page_to_pfn(page)); }

// A free page of the domain, or null when it is used up (or absent).
Page* pmem_alloc_page();
// Gives back a page of pmem_alloc_page's. A page outside the domain
// (pmem.bad_free) or one already free (pmem.double_free) WARNs and changes
// nothing.
void pmem_free_page(Page* page);
// Free pages of the domain: a snapshot, unlocked.
u32 pmem_free_pages();

} // namespace mm
