#include "mm/buddy.h"

#include "lib/bug.h"
#include "mm/zone.h"

namespace mm {
namespace {

constexpr ZoneId FALLBACK[3][NR_ZONES] = {
    /* Kernel   */ {ZONE_NORMAL, ZONE_DMA, NR_ZONES},
    /* HighUser */ {ZONE_HIGHMEM, ZONE_NORMAL, ZONE_DMA},
    /* Dma      */ {ZONE_DMA, NR_ZONES, NR_ZONES},
};

void set_state(Page* head, unsigned order, PageState head_state, PageState rest) {
    head->state = head_state;
    for (u32 i = 1; i < (1u << order); ++i)
        head[i].state = rest;
}

// Put a free block on its list, merging upward while the buddy is free.
// Called with the zone lock held.
void insert_free_block(Zone& zone, Page* page, unsigned order) {
    Pfn pfn = page_to_pfn(page);
    while (order < MAX_ORDER - 1) {
        const Pfn buddy_pfn(pfn.value() ^ (1u << order));
        if (!zone.span.contains(buddy_pfn) || !zone.span.contains(buddy_pfn + ((1u << order) - 1)))
            break;
        Page* buddy = pfn_to_page(buddy_pfn);
        if (buddy->state != PageState::Free || !buddy->list.is_linked() || buddy->order != order)
            break;
        buddy->list.unlink();
        zone.free_area[order].nr_free--;
        pfn = Pfn(pfn.value() & ~(1u << order));
        ++order;
    }
    Page* head = pfn_to_page(pfn);
    head->order = static_cast<u8>(order);
    zone.free_area[order].blocks.push_front(*head);
    zone.free_area[order].nr_free++;
}

Page* take_block(Zone& zone, unsigned order) {
    for (unsigned o = order; o < MAX_ORDER; ++o) {
        Page* block = zone.free_area[o].blocks.pop_front();
        if (!block)
            continue;
        zone.free_area[o].nr_free--;
        // Split: keep the lower half, return the upper halves to the lists.
        while (o > order) {
            --o;
            Page* upper = block + (1u << o);
            upper->order = static_cast<u8>(o);
            zone.free_area[o].blocks.push_front(*upper);
            zone.free_area[o].nr_free++;
        }
        return block;
    }
    return nullptr;
}

// The first 2^order-aligned pfn at or above `pfn`.
Pfn align_up(Pfn pfn, unsigned order) {
    const u32 size = 1u << order;
    return Pfn((pfn.value() + size - 1) & ~(size - 1));
}

// A free 2^order block inside `where`, carved out of the first free block
// of any order that holds one; the rest of that block goes back to the
// lists, as take_block's split does. Called with the zone lock held.
Page* take_block_in(Zone& zone, unsigned order, PfnRange where) {
    for (unsigned o = order; o < MAX_ORDER; ++o) {
        for (Page& block : zone.free_area[o].blocks) {
            const Pfn start = page_to_pfn(&block);
            const Pfn want = align_up(max(start, where.start), order);
            if (want + (1u << order) > min(start + (1u << o), where.end))
                continue;
            block.list.unlink();
            zone.free_area[o].nr_free--;
            Page* head = &block;
            while (o > order) {
                --o;
                Page* lower = head;
                Page* upper = head + (1u << o);
                Page* spare = page_to_pfn(upper) <= want ? lower : upper;
                head = spare == lower ? upper : lower;
                spare->order = static_cast<u8>(o);
                zone.free_area[o].blocks.push_front(*spare);
                zone.free_area[o].nr_free++;
            }
            return head;
        }
    }
    return nullptr;
}

template <typename Take>
Page* alloc_from_zones(Gfp gfp, unsigned order, Take take) {
    if (WARN_ONCE("buddy.bad_order", order >= MAX_ORDER, "alloc_pages: order %u >= %u", order,
                  MAX_ORDER))
        return nullptr;
    for (ZoneId id : FALLBACK[static_cast<unsigned>(gfp)]) {
        if (id == NR_ZONES)
            break;
        Zone& zone = zones[id];
        SpinlockIrqsaveGuard guard(zone.lock);
        if (Page* block = take(zone)) {
            set_state(block, order, PageState::Allocated, PageState::Tail);
            block->order = static_cast<u8>(order);
            zone.free_pages -= 1u << order;
            return block;
        }
    }
    return nullptr;
}

} // namespace

Page* alloc_pages(Gfp gfp, unsigned order) {
    return alloc_from_zones(gfp, order, [order](Zone& zone) { return take_block(zone, order); });
}

Page* alloc_pages_in(Gfp gfp, unsigned order, PfnRange where) {
    return alloc_from_zones(gfp, order,
                            [=](Zone& zone) { return take_block_in(zone, order, where); });
}

void free_pages(Page* page, unsigned order) {
    if (WARN("buddy.bad_free", !page || !pfn_valid(page_to_pfn(page)) || order >= MAX_ORDER,
             "free_pages(%p, %u): not a page of RAM", page, order))
        return;
    Zone& zone = page_zone(page);
    SpinlockIrqsaveGuard guard(zone.lock);
    const Pfn pfn = page_to_pfn(page);
    switch (page->state) {
    case PageState::Allocated:
        break;
    case PageState::Free:
        WARN("buddy.double_free", true, "free_pages: pfn %#x is already free", pfn.value());
        return;
    case PageState::Reserved:
        WARN("buddy.bad_free", true, "free_pages: pfn %#x was never allocated (reserved)",
             pfn.value());
        return;
    case PageState::Tail:
        WARN("buddy.bad_free", true, "free_pages: pfn %#x is inside an allocated block, not its head",
             pfn.value());
        return;
    }
    if (WARN("buddy.bad_free", page->order != order,
             "free_pages: pfn %#x was allocated with order %u, freed with order %u", pfn.value(),
             page->order, order))
        return;
    set_state(page, order, PageState::Free, PageState::Free);
    zone.free_pages += 1u << order;
    insert_free_block(zone, page, order);
}

void buddy_add_free_range(PfnRange range) {
    // Split at zone boundaries, then hand over maximal aligned blocks.
    for (Zone& zone : zones) {
        Pfn start = max(range.start, zone.span.start);
        const Pfn end = min(range.end, zone.span.end);
        SpinlockIrqsaveGuard guard(zone.lock);
        while (start < end) {
            unsigned order = MAX_ORDER - 1;
            while (order > 0 && ((start.value() & ((1u << order) - 1)) != 0 ||
                                 start.value() + (1u << order) > end.value()))
                --order;
            Page* head = pfn_to_page(start);
            set_state(head, order, PageState::Free, PageState::Free);
            zone.present_pages += 1u << order;
            zone.free_pages += 1u << order;
            insert_free_block(zone, head, order);
            start = start + (1u << order);
        }
    }
}

u32 zone_free_pages(ZoneId id) { return zones[id].free_pages; }

u32 nr_free_pages() {
    u32 n = 0;
    for (const Zone& z : zones)
        n += z.free_pages;
    return n;
}

} // namespace mm
