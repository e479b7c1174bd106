#include "trace/collector.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <queue>

namespace simrun {

Result<Collector> Collector::create(const Arena& arena, const std::string& dir) {
    Collector c;
    c.arena_ = &arena;
    c.spill_ = UniqueFd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (!c.spill_.valid()) c.spill_ = UniqueFd(memfd_create("simrun-spill", MFD_CLOEXEC));  // fs without O_TMPFILE
    if (!c.spill_.valid()) return sys_error(fmt::format("open({}, O_TMPFILE)", dir));
    c.batches_.resize(arena.rings());
    return c;
}

// The readable records straight from the ring into the spill file: one
// copy, by the kernel (the supervisor shares the machine with the programs
// it traces; every pass over the data is time taken from them).
static Status write_runs(int fd, const RingReader::Runs& runs, off_t at) {
    iovec iov[2] = {{const_cast<Record*>(runs.first), runs.n_first * sizeof(Record)},
                    {const_cast<Record*>(runs.second), runs.n_second * sizeof(Record)}};
    iovec* next = iov;
    int left = 2;
    while (left > 0) {
        if (next->iov_len == 0) {
            ++next, --left;
            continue;
        }
        ssize_t w = ::pwritev(fd, next, left, at);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return sys_error("pwritev(trace spill)");
        at += w;
        for (auto done = static_cast<std::size_t>(w); done > 0 && left > 0;) {
            const std::size_t k = std::min(done, next->iov_len);
            next->iov_base = static_cast<char*>(next->iov_base) + k, next->iov_len -= k, done -= k;
            if (next->iov_len == 0) ++next, --left;
        }
    }
    return ok_status();
}

Result<std::size_t> Collector::drain() {
    std::size_t moved = 0;
    fullest_ = 0;
    for (std::uint32_t r = 0; r < arena_->rings(); ++r) {
        RingReader reader = arena_->reader(r);
        // A few passes at most: a writer that keeps going must not hold the supervisor here.
        for (int pass = 0; pass < 4; ++pass) {
            const RingReader::Runs runs = reader.readable();
            if (runs.size() == 0) break;
            const std::size_t n = runs.size();
            if (pass == 0 && n > fullest_) fullest_ = n;
            auto at = static_cast<off_t>(total_ * sizeof(Record));
            if (auto st = write_runs(spill_.get(), runs, at); !st) return st.error();
            reader.release(n);
            auto& b = batches_[r];
            if (!b.empty() && b.back().first + b.back().second == total_) b.back().second += n;
            else b.emplace_back(total_, n);
            total_ += n;
            moved += n;
        }
    }
    return moved;
}

std::uint64_t Collector::written_in_rings() const {
    std::uint64_t sum = 0;
    for (std::uint32_t r = 0; r < arena_->rings(); ++r) sum += arena_->reader(r).written();
    return sum;
}

namespace {

// Reads one ring's records back from the spill file, a block at a time.
class Cursor {
public:
    Cursor(int fd, const std::vector<std::pair<std::uint64_t, std::uint64_t>>* batches, std::uint32_t ring)
        : fd_(fd), batches_(batches), ring_(ring) {}
    std::uint32_t ring() const { return ring_; }
    const Record* peek() {
        if (pos_ == buf_.size() && !refill()) return nullptr;
        return &buf_[pos_];
    }
    void pop() { ++pos_; }
    // Set when the spill file could not be read back: this ring's records
    // stop there (what came before was visited).
    const std::string& failure() const { return failure_; }

private:
    bool refill() {
        while (batch_ < batches_->size() && used_ == (*batches_)[batch_].second) ++batch_, used_ = 0;
        if (batch_ >= batches_->size()) return false;
        auto [offset, count] = (*batches_)[batch_];
        std::uint64_t n = std::min<std::uint64_t>(256, count - used_);
        buf_.resize(n);
        const std::uint64_t at = offset + used_;
        ssize_t got;
        do got = ::pread(fd_, buf_.data(), n * sizeof(Record), static_cast<off_t>(at * sizeof(Record)));
        while (got < 0 && errno == EINTR);
        if (got >= static_cast<ssize_t>(sizeof(Record)) && got < static_cast<ssize_t>(n * sizeof(Record))) {
            n = static_cast<std::uint64_t>(got) / sizeof(Record);  // the whole records first; the next read says where it ends
            buf_.resize(n);
        } else if (got != static_cast<ssize_t>(n * sizeof(Record))) {
            const std::string call = fmt::format("pread(trace spill, ring {}, record {} of the spill)", ring_, at);
            failure_ = got < 0 ? sys_error(call).message
                               : fmt::format("{}: short read, {} of {} bytes", call, got, n * sizeof(Record));
            buf_.clear(), pos_ = 0;
            batch_ = batches_->size();  // nothing after a hole
            return false;
        }
        used_ += n;
        pos_ = 0;
        return true;
    }
    int fd_;
    const std::vector<std::pair<std::uint64_t, std::uint64_t>>* batches_;
    std::uint32_t ring_;
    std::size_t batch_ = 0;
    std::uint64_t used_ = 0;
    std::vector<Record> buf_;
    std::size_t pos_ = 0;
    std::string failure_;
};

}  // namespace

Status Collector::merge(const Visitor& visit) const {
    std::vector<Cursor> cursors;
    cursors.reserve(batches_.size());
    for (std::uint32_t r = 0; r < batches_.size(); ++r) cursors.emplace_back(spill_.get(), &batches_[r], r);

    auto later = [&](Cursor* a, Cursor* b) {
        const Record *x = a->peek(), *y = b->peek();
        if (x->ts != y->ts) return x->ts > y->ts;
        return a->ring() > b->ring();
    };
    std::priority_queue<Cursor*, std::vector<Cursor*>, decltype(later)> heap(later);
    for (auto& c : cursors)
        if (c.peek()) heap.push(&c);

    // Ordered by the stamps as written; visited with CLOCK_MONOTONIC ns.
    const StampToNs to_ns = arena_->stamp_to_ns();
    Record pending{};
    bool has_pending = false;
    std::string payload;
    while (!heap.empty()) {
        Cursor* c = heap.top();
        heap.pop();
        const Record r = *c->peek();
        c->pop();
        if (c->peek()) heap.push(c);
        if (r.kind == EventKind::Data) {
            payload.append(r.data.bytes, r.data.len);
            continue;
        }
        if (has_pending) visit(pending, payload);
        pending = r, has_pending = true;
        pending.ts = to_ns(r.ts);
        payload.clear();
    }
    if (has_pending) visit(pending, payload);
    for (const auto& c : cursors)
        if (!c.failure().empty()) return Error{"the trace was cut short: " + c.failure()};
    return ok_status();
}

}  // namespace simrun
