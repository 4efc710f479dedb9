// Test-only access to the kmap_atomic audit (mm/kmap_audit.h): reading a
// call site's row back, starting it again, and the negative control's
// switch that stops all recording.
#pragma once

#include "mm/kmap_audit.h"

namespace mm::testing {

// The row of the kmap_atomic() call site inside function `fn` (the symbol
// table gives its extent); false if none has run yet. One call site per
// function: the first row found is returned.
bool kmap_audit_row(const void* fn, KmapAuditRow* out);
// Start the rows of `fn`'s call sites again from zero.
void kmap_audit_forget(const void* fn);
// How many audited sections the current task has open.
u32 kmap_audit_open_sections();

// Recording off: sections still open, close and count their runs, but no
// event is recorded, so every verdict reads "convert as is" (the negative
// control; ktest.kmap_audit_unrecorded switches it off for a whole boot).
void set_kmap_audit_recording(bool on);
bool kmap_audit_recording();

class [[nodiscard]] KmapAuditRecordingOff : Pinned {
public:
    KmapAuditRecordingOff() : m_was(kmap_audit_recording()) { set_kmap_audit_recording(false); }
    ~KmapAuditRecordingOff() { set_kmap_audit_recording(m_was); }

private:
    bool m_was;
};

} // namespace mm::testing
