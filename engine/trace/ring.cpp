#include "trace/ring.hpp"

#include "util/futex.hpp"

#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <cstring>

namespace simrun {

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

void RingWriter::make_room(std::uint64_t head) {
    const int saved_errno = errno;  // a traced call's errno is the program's
    cached_tail_ = h_->tail.load(std::memory_order_acquire);
    if (head - cached_tail_ > mask_) {
        wait_for_space(head), cached_tail_ = h_->tail.load(std::memory_order_acquire);
    } else if (head - cached_tail_ >= half_ + half_ / 2 && head - woken_at_ >= half_ && wake_fd_ >= 0 && !self_drain_) {
        // Three quarters full: wake the reader now, so that it drains while
        // this writer goes on instead of waiting for it at full. Only a
        // reader that fell behind: the supervisor paces its drains to keep
        // the busiest ring a quarter full (run/drain_pace.hpp), as a wake-up
        // costs the writer microseconds.
        std::uint64_t one = 1;
        (void)!::write(wake_fd_, &one, sizeof one);
        woken_at_ = head;
    }
    const std::uint64_t used = head - cached_tail_;
    next_check_ = used < half_ ? cached_tail_ + half_ : head + std::max<std::uint64_t>(1, (mask_ + 1 - used) / 2);
    errno = saved_errno;
}

void RingWriter::data(const char* bytes, std::size_t n, std::uint16_t proc) {
    // Data shares its event's timestamp so the merged stream keeps them adjacent.
    std::uint64_t ts = r_[(h_->head.load(std::memory_order_relaxed) - 1) & mask_].ts;
    while (n > 0) {
        std::size_t chunk = n < kDataBytes ? n : kDataBytes;
        Record& r = begin(EventKind::Data, proc, 0, ts);
        std::memcpy(r.data.bytes, bytes, chunk);
        r.data.len = static_cast<std::uint8_t>(chunk);
        commit();
        bytes += chunk;
        n -= chunk;
    }
}

RingReader::Runs RingReader::readable() const {
    const std::uint64_t tail = h_->tail.load(std::memory_order_relaxed);
    const std::uint64_t head = h_->head.load(std::memory_order_acquire);
    const std::size_t n = head - tail <= mask_ + 1 ? static_cast<std::size_t>(head - tail) : 0;  // a scribbled head reads as empty
    const std::size_t at = static_cast<std::size_t>(tail & mask_);
    const std::size_t first = std::min(n, static_cast<std::size_t>(mask_ + 1) - at);
    return {r_ + at, first, r_, n - first};
}

std::size_t RingReader::drain(Record* out, std::size_t max) {
    Runs runs = readable();
    std::size_t n = std::min(max, runs.size());
    std::size_t a = std::min(n, runs.n_first);
    std::memcpy(out, runs.first, a * sizeof(Record));
    std::memcpy(out + a, runs.second, (n - a) * sizeof(Record));
    release(n);
    return n;
}

void RingReader::release(std::size_t n) {
    if (n == 0) return;
    const std::uint64_t tail = h_->tail.load(std::memory_order_relaxed) + n;
    h_->tail.store(tail, std::memory_order_seq_cst);
    h_->tail_word.store(static_cast<std::uint32_t>(tail), std::memory_order_seq_cst);
    if (h_->writer_waiting.load(std::memory_order_seq_cst)) futex_wake(&h_->tail_word);
}

}  // namespace simrun
