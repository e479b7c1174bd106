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
    RingWriter() = default;
    RingWriter(RingHeader* h, Record* records, std::uint32_t capacity, int wake_fd)
        : h_(h), r_(records), mask_(capacity - 1), wake_fd_(wake_fd) {}

    // The slot for the next record, with ts, seq and proc set. Blocks while
    // full. `stamp`: the record's time, taken earlier (0: now).
    Record& begin(EventKind kind, std::uint16_t proc, std::uint8_t flags = 0, std::uint64_t stamp = 0);
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
    void wait_for_space(std::uint64_t head);
    RingHeader* h_ = nullptr;
    Record* r_ = nullptr;
    std::uint64_t mask_ = 0;
    int wake_fd_ = -1;
    // The reader's tail as last seen: re-read only past half full, so a
    // write does not pull the reader's cache line every time.
    std::uint64_t cached_tail_ = 0;
    std::uint64_t woken_at_ = 0;  // head when the reader was last woken (half full)
    void (*self_drain_)(void*) = nullptr;
    void* self_ctx_ = nullptr;
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
