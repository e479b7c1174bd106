// A lossless single-writer, single-reader ring of Records in shared memory.
// The writer (one process) never drops: when the ring is full it wakes the
// reader through an eventfd and sleeps on a futex until the reader frees
// space. Writer side is fork-safe and async-signal-safe (no allocation, only
// atomics, clock_gettime, write(2) and futex(2)).
#pragma once

#include "trace/record.hpp"
#include "trace/trace_clock.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace simrun {

inline void prefetch_for_write(const void* p) {
#if defined(__x86_64__)
    asm volatile("prefetchw %0" : : "m"(*static_cast<const char*>(p)));  // a no-op on CPUs without it
#else
    __builtin_prefetch(p, 1);
#endif
}

struct alignas(64) RingHeader {
    std::atomic<std::uint64_t> head;  // next record to write; owned by the writer
    char pad0[56];
    std::atomic<std::uint64_t> tail;  // next record to read; owned by the reader
    std::atomic<std::uint32_t> tail_word;       // low 32 bits of tail: the futex the writer sleeps on
    std::atomic<std::uint32_t> writer_waiting;  // 1 while the writer sleeps for space
    char pad1[48];
};

class RingWriter {
public:
    static constexpr std::uint64_t kPrefetchAhead = 16;
    RingWriter() = default;
    // `newest`: the run's newest stamp (trace_clock.hpp), shared by every
    // writer; nullptr: every record gets a fresh stamp.
    RingWriter(RingHeader* h, Record* records, std::uint32_t capacity, int wake_fd, std::atomic<std::uint64_t>* newest = nullptr)
        : h_(h), r_(records), mask_(capacity - 1), half_(capacity / 2), wake_fd_(wake_fd), newest_(newest) {}

    // The time of a record written now: this writer's last stamp while it
    // is still the run's newest, else a fresh one (trace_clock.hpp). For
    // this ring's writer only (not thread-safe).
    std::uint64_t stamp() {
        if (last_stamp_ && newest_ && newest_->load(std::memory_order_acquire) == last_stamp_) return last_stamp_;
        return last_stamp_ = fresh_stamp(newest_);
    }
    // The slot for the next record, with ts, seq and proc set. Blocks while
    // full; leaves errno as it was. `stamp`: the record's time, taken
    // earlier (0: now); never before the ring's previous record, so time
    // does not go backwards in a ring (a call stamped before it ran, written
    // after its own signal handler's). Inline: it is on every traced call's path.
    Record& begin(EventKind kind, std::uint16_t proc, std::uint8_t flags = 0, std::uint64_t stamp = 0) {
        Record& r = begin_bare(kind, proc, flags, stamp);
        r.e = {};
        return r;
    }
    // begin() without clearing the event's fields: for a writer that sets
    // every one of them.
    Record& begin_bare(EventKind kind, std::uint16_t proc, std::uint8_t flags = 0, std::uint64_t stamp = 0) {
        const std::uint64_t head = h_->head.load(std::memory_order_relaxed);
        if (head >= next_check_) make_room(head);
        // Never before the ring's previous record. A fresh stamp is usually
        // later already, but not always: threads of one program share a
        // ring, and the counter read (rdtsc, not serializing) of one that
        // waited for the ring's lock may come from before it got the lock.
        const std::uint64_t prev = head != 0 ? r_[(head - 1) & mask_].ts : 0;
        std::uint64_t ts = stamp == 0 ? this->stamp() : stamp;
        if (ts < prev) ts = prev;
        Record& r = r_[head & mask_];
        // Ask for the line of a record a few ahead now: the reader has read
        // (and so shares) it since the last lap, and taking it back costs
        // a round trip between cores that would otherwise hit the write.
        prefetch_for_write(&r_[(head + kPrefetchAhead) & mask_]);
        r.ts = ts;
        r.seq = static_cast<std::uint32_t>(head);
        r.proc = proc;
        r.kind = kind;
        r.flags = flags;
        return r;
    }
    void commit() { h_->head.store(h_->head.load(std::memory_order_relaxed) + 1, std::memory_order_release); }
    // A payload as Data records following the last committed one.
    void data(const char* bytes, std::size_t n, std::uint16_t proc);
    std::uint64_t written() const { return h_->head.load(std::memory_order_relaxed); }
    // For a writer that is also the ring's reader (the supervisor): when the
    // ring is full, call drain(ctx) instead of waiting for itself for ever.
    void set_self_drain(void (*drain)(void*), void* ctx) { self_drain_ = drain, self_ctx_ = ctx; }
    // The eventfd that wakes the reader when the ring is full (-1: none; the
    // writer then waits for the reader's next periodic drain).
    void set_wake_fd(int fd) { wake_fd_ = fd; }

private:
    // Re-reads the reader's tail (at half full, then halfway to full each
    // time, so a record does not read the reader's cache line), wakes the
    // reader past three quarters full, and waits while the ring is full.
    void make_room(std::uint64_t head);
    void wait_for_space(std::uint64_t head);
    RingHeader* h_ = nullptr;
    Record* r_ = nullptr;
    std::uint64_t mask_ = 0;
    std::uint64_t half_ = 0;
    int wake_fd_ = -1;
    // The reader's tail as last seen: re-read only by make_room(), so a
    // write does not pull the reader's cache line every time.
    std::uint64_t cached_tail_ = 0;
    std::uint64_t next_check_ = 0;  // head at which make_room() looks again
    std::uint64_t woken_at_ = 0;  // head when the reader was last woken (3/4 full)
    void (*self_drain_)(void*) = nullptr;
    void* self_ctx_ = nullptr;
    std::atomic<std::uint64_t>* newest_ = nullptr;
    std::uint64_t last_stamp_ = 0;  // this writer's last fresh stamp
};

class RingReader {
public:
    RingReader(RingHeader* h, Record* records, std::uint32_t capacity)
        : h_(h), r_(records), mask_(capacity - 1) {}
    // Copies up to `max` available records into out; frees their slots.
    std::size_t drain(Record* out, std::size_t max);
    // The records written and not yet read, in place: at most two runs (the
    // ring wraps). They stay put until release(n) frees the first n.
    struct Runs {
        const Record* first;
        std::size_t n_first;
        const Record* second;
        std::size_t n_second;
        std::size_t size() const { return n_first + n_second; }
    };
    Runs readable() const;
    void release(std::size_t n);
    std::uint64_t written() const { return h_->head.load(std::memory_order_acquire); }

private:
    RingHeader* h_;
    Record* r_;
    std::uint64_t mask_;
};

}  // namespace simrun
