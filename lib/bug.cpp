#include "lib/bug.h"

#include <stdarg.h>

#include "lib/platform.h"
#include "lib/printk.h"
#include "lib/string.h"

namespace {

Atomic<WarnSite*> site_list{nullptr};
Atomic<warn::Observer> observer{nullptr};
Atomic<int> panicking{0};
Atomic<unsigned> panic_cpu{~0u};

void enrol(WarnSite& site) {
    if (site.enrolled.exchange(true))
        return;
    WarnSite* head = site_list.load();
    do {
        site.next = head;
    } while (!site_list.compare_exchange(head, &site));
}

// A report's message, formatted once.
struct Message {
    char text[256];
    Message(const char* fmt, va_list ap) { lib::vformat(text, sizeof(text), fmt, ap); }
};

} // namespace

void oops_begin() {
    const unsigned cpu = platform::this_cpu_id();
    if (panicking.fetch_add(1) != 0) {
        if (panic_cpu.load() != cpu) {
            // Another CPU is already reporting: let it finish and end the run.
            platform::irq_save();
            for (;;)
                platform::cpu_relax();
        }
        // A fault inside our own report: say so and stop.
        lib::console_break_lock();
        printk("\nnested fatal error during panic; stopping\n");
        platform::die();
    }
    panic_cpu.store(cpu);
    platform::irq_save();
    lib::console_break_lock();
}

void oops_end(const char* site, const char* reason) {
    platform::stop_other_cpus();
    printk("crash: site=%s cpu=%u\n", site, platform::this_cpu_id());
    printk("Kernel panic - not syncing: %s\n", reason);
    platform::die();
}

namespace warn {

void hit(WarnSite& site, const char* fmt, ...) {
    enrol(site);
    const u32 count = site.hits.fetch_add(1) + 1;
    if (!site.once || count == 1) {
        va_list ap;
        va_start(ap, fmt);
        const Message msg(fmt, ap);
        va_end(ap);
        printk("------------[ cut here ]------------\n"
               "WARNING: CPU: %u at %s:%d [site %s]\n%s\n",
               platform::this_cpu_id(), site.file, site.line, site.id, msg.text);
        platform::dump_stack();
        printk("---[ end trace ]---\n");
    }
    if (Observer o = observer.load())
        o(site);
}

u32 hits(const char* id) {
    u32 total = 0;
    for_each_site([&](const WarnSite& s) {
        if (lib::strcmp(s.id, id) == 0)
            total += s.hits.load();
    });
    return total;
}

WarnSite* enrolled_sites() { return site_list.load(); }

void set_observer(Observer o) { observer.store(o); }

} // namespace warn

void panic(const char* fmt, ...) {
    oops_begin();
    va_list ap;
    va_start(ap, fmt);
    const Message msg(fmt, ap);
    va_end(ap);
    printk("Kernel panic - not syncing: %s\n", msg.text);
    platform::dump_stack();
    platform::stop_other_cpus();
    printk("crash: site=panic cpu=%u\n", platform::this_cpu_id());
    printk("---[ end Kernel panic - not syncing: %s ]---\n", msg.text);
    platform::die();
}

void bug_report(const BugSite& site, const char* fmt, ...) {
    oops_begin();
    va_list ap;
    va_start(ap, fmt);
    const Message msg(fmt, ap);
    va_end(ap);
    printk("------------[ cut here ]------------\n"
           "kernel BUG at %s:%d! [site %s]\n%s\n",
           site.file, site.line, site.id, msg.text);
    platform::dump_stack();
    printk("---[ end trace ]---\n");
    char reason[160];
    lib::format(reason, sizeof(reason), "BUG at %s:%d [site %s]", site.file, site.line, site.id);
    oops_end(site.id, reason);
}
