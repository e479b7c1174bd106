#include "trace/arena.hpp"

#include <fmt/format.h>
#include <fcntl.h>
#include <sys/mman.h>

#include <utility>

namespace simrun {

Result<Arena> Arena::create(std::uint32_t processes, std::uint32_t ring_capacity, std::uint32_t spares) {
    if (ring_capacity == 0 || (ring_capacity & (ring_capacity - 1)) != 0)
        return Error{fmt::format("ring capacity {} is not a power of two", ring_capacity)};
    Arena a;
    a.layout_ = ArenaLayout::of(processes, spares, ring_capacity, sizeof(RingHeader) + sizeof(Record) * ring_capacity);
    const std::size_t size = a.layout_.size;
    // A memfd rather than anonymous memory so exec'd programs can reach their ring later.
    a.fd_ = UniqueFd(memfd_create("simrun-trace", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!a.fd_.valid()) return sys_error("memfd_create(simrun-trace)");
    if (ftruncate(a.fd_.get(), static_cast<off_t>(size)) != 0)
        return sys_error(fmt::format("ftruncate(trace arena, {} bytes)", size));
    // Its size sealed: a program holding the descriptor cannot shrink it
    // under the supervisor (whose reads past the end would die of SIGBUS),
    // and the tracer knows the arena from any other file (kArenaSeals).
    if (fcntl(a.fd_.get(), F_ADD_SEALS, kArenaSeals) != 0) return sys_error("fcntl(trace arena, F_ADD_SEALS)");
    a.base_ = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, a.fd_.get(), 0);
    if (a.base_ == MAP_FAILED) {
        a.base_ = nullptr;
        return sys_error(fmt::format("mmap(trace arena, {} bytes)", size));
    }
    // A fresh memfd reads as zeros: every atomic starts at 0, every slot Unborn.
    a.header_ = static_cast<ArenaHeader*>(a.base_);
    a.slots_ = reinterpret_cast<ProcSlot*>(static_cast<std::byte*>(a.base_) + a.layout_.slots);
    // The run's clock: this process and its forks stamp with it from now
    // on, exec'd programs read it from the header.
    a.tsc_ = tsc_usable();
    g_trace_tsc = a.tsc_;
    a.header_->tsc_clock.store(a.tsc_ ? 1 : 0);
    a.header_->magic.store(kArenaMagic);
    a.start_clock_ = sample_clock();
    return a;
}

Arena::Arena(Arena&& o) noexcept
    : fd_(std::move(o.fd_)),
      base_(std::exchange(o.base_, nullptr)),
      layout_(o.layout_),
      header_(o.header_),
      slots_(o.slots_),
      tsc_(o.tsc_),
      start_clock_(o.start_clock_) {}

Arena::~Arena() {
    if (base_) munmap(base_, layout_.size);
}

RingHeader* Arena::ring_header(std::uint32_t ring) const {
    return reinterpret_cast<RingHeader*>(static_cast<std::byte*>(base_) + layout_.ring_offset(ring));
}

RingWriter Arena::writer(std::uint32_t ring, int wake_fd) const {
    RingHeader* h = ring_header(ring);
    return RingWriter(h, reinterpret_cast<Record*>(h + 1), layout_.capacity, wake_fd, &header_->newest_stamp);
}

RingReader Arena::reader(std::uint32_t ring) const {
    RingHeader* h = ring_header(ring);
    return RingReader(h, reinterpret_cast<Record*>(h + 1), layout_.capacity);
}

}  // namespace simrun
