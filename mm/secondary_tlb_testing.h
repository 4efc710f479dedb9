// Test-only access to the secondary-TLB notifiers (mm/secondary_tlb.h).
#pragma once

namespace mm {

// The negative controls: drop the notifications of one kind.
void secondary_tlb_test_suppress(bool invalidations, bool upgrades);

} // namespace mm
