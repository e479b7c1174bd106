// The encoder of a program's call: one Call record (and Data records for
// its buffer), as the preload tracer writes it into its ring. Shared with
// the tests, so the decoder's round trip starts from the real encoding.
// Async-signal-safe, no allocation.
#pragma once

#include "trace/record.hpp"
#include "trace/ring.hpp"

#include <cstddef>
#include <cstdint>

namespace simrun {

// A call's arguments, packed per CallId (trace/record.hpp says how).
struct CallArgs {
    std::int64_t arg = 0, value = 0, step = 0;
    std::uint32_t iter = 0;  // a fourth field where a call needs one (semtimedop: its timeout)
    std::uint8_t flags = 0;  // kRecCallStart, kRecBlocked
};

// Stamped `ts` (0: the ring's own stamp, now).
[[gnu::always_inline]] inline void write_call_record(RingWriter& r, std::uint16_t proc, std::int32_t pid, CallId c, CallArgs a,
                                                     std::int64_t result, int err, std::uint64_t ts, const void* data = nullptr,
                                                     std::size_t n = 0) {
    Record& rec = r.begin_bare(EventKind::Call, proc, a.flags, ts);
    rec.e.op = static_cast<std::uint32_t>(c);
    rec.e.iter = a.iter;
    rec.e.pid = pid;
    rec.e.arg = a.arg, rec.e.value = a.value, rec.e.step = static_cast<std::uint64_t>(a.step);
    rec.e.result = result, rec.e.err = err;
    r.commit();
    if (data && n) r.data(static_cast<const char*>(data), n, proc);
}

}  // namespace simrun
