// The supervisor's side of the rings. drain() empties every ring into an
// anonymous spill file (so memory stays flat however long the run);
// merge() replays all records as one stream ordered by (timestamp, ring,
// sequence), joining Data records to the event they continue, with their
// stamps turned into CLOCK_MONOTONIC ns.
#pragma once

#include "trace/arena.hpp"
#include "util/error.hpp"
#include "util/unique_fd.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace simrun {

class Collector {
public:
    // Spill file in `dir` (O_TMPFILE: it vanishes with the fd, however simrun ends).
    static Result<Collector> create(const Arena& arena, const std::string& dir);

    Result<std::size_t> drain();  // records moved out of the rings
    // The most records one ring held as the last drain() came to it: how
    // fast the busiest writer writes (run/drain_pace.hpp).
    std::uint64_t fullest() const { return fullest_; }
    std::uint64_t total() const { return total_; }
    std::uint64_t written_in_rings() const;  // progress measure: sum of ring heads

    using Visitor = std::function<void(const Record&, std::string_view payload)>;
    // Visits every record it can read back; if part of the spill cannot be
    // read, the rest of that ring is missing and the error says where.
    Status merge(const Visitor& visit) const;
    // The spill file, for tests that damage it.
    int spill_fd_for_tests() const { return spill_.get(); }

private:
    // A run of consecutive records of one ring in the spill file: (offset, count) in records.
    using Batch = std::pair<std::uint64_t, std::uint64_t>;
    const Arena* arena_ = nullptr;
    UniqueFd spill_;
    std::uint64_t total_ = 0;
    std::uint64_t fullest_ = 0;
    std::vector<std::vector<Batch>> batches_;  // per ring
};

}  // namespace simrun
