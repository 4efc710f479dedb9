// The bound of mm/highmem.h's pointer test.
#include "mm/highmem.h"

namespace mm {

namespace detail {
const Page* highmem_first_page = nullptr;
}

void highmem_init() { detail::highmem_first_page = mem_map + max_low_pfn.value(); }

} // namespace mm
