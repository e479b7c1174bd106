#include "trace/ring.hpp"

#include "util/futex.hpp"

#include <time.h>
#include <unistd.h>

#include <cstring>

namespace simrun {

std::uint64_t monotonic_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}


void RingWriter::wait_for_space(std::uint64_t head) {
    while (head - h_->tail.load(std::memory_order_acquire) > mask_) {
        if (self_drain_) {
            self_drain_(self_ctx_);
            continue;
        }
        h_->writer_waiting.store(1, std::memory_order_seq_cst);
        std::uint32_t seen = h_->tail_word.load(std::memory_order_seq_cst);
        if (head - h_->tail.load(std::memory_order_seq_cst) <= mask_) break;
        std::uint64_t one = 1;
        if (wake_fd_ >= 0) (void)!::write(wake_fd_, &one, sizeof one);
        // The timeout only bounds a lost wake-up; the reader wakes us first.
        futex_wait(&h_->tail_word, seen, 50'000'000);
    }
    h_->writer_waiting.store(0, std::memory_order_relaxed);
}

Record& RingWriter::begin(EventKind kind, std::uint16_t proc, std::uint8_t flags) {
    std::uint64_t head = h_->head.load(std::memory_order_relaxed);
    if (head - cached_tail_ > mask_) {
        cached_tail_ = h_->tail.load(std::memory_order_acquire);
        if (head - cached_tail_ > mask_) wait_for_space(head), cached_tail_ = h_->tail.load(std::memory_order_acquire);
    }
    Record& r = r_[head & mask_];
    r.ts = monotonic_ns();
    r.seq = static_cast<std::uint32_t>(head);
    r.proc = proc;
    r.kind = kind;
    r.flags = flags;
    r.e = {};
    return r;
}

void RingWriter::data(const char* bytes, std::size_t n, std::uint16_t proc) {
    // Data shares its event's timestamp so the merged stream keeps them adjacent.
    std::uint64_t ts = r_[(h_->head.load(std::memory_order_relaxed) - 1) & mask_].ts;
    while (n > 0) {
        std::size_t chunk = n < kDataBytes ? n : kDataBytes;
        Record& r = begin(EventKind::Data, proc);
        r.ts = ts;
        std::memcpy(r.data.bytes, bytes, chunk);
        r.data.len = static_cast<std::uint8_t>(chunk);
        commit();
        bytes += chunk;
        n -= chunk;
    }
}

std::size_t RingReader::drain(Record* out, std::size_t max) {
    std::uint64_t tail = h_->tail.load(std::memory_order_relaxed);
    std::uint64_t head = h_->head.load(std::memory_order_acquire);
    std::size_t n = 0;
    for (; tail + n < head && n < max; ++n) out[n] = r_[(tail + n) & mask_];
    if (n == 0) return 0;
    h_->tail.store(tail + n, std::memory_order_seq_cst);
    h_->tail_word.store(static_cast<std::uint32_t>(tail + n), std::memory_order_seq_cst);
    if (h_->writer_waiting.load(std::memory_order_seq_cst)) futex_wake(&h_->tail_word);
    return n;
}

}  // namespace simrun
