// trace.simrun: a run's merged records kept as they were decoded, so that
// any output (the terminal view, trace.jsonl, the Perfetto file) can be
// made again from a saved run without running it again: `simrun view`,
// `simrun export`. The same decoder reads them, so a saved run gives the
// same events. Format (docs/trace-format.md, "The saved run"):
//
//   "SIMRUNTR" u32 version u32 0
//   block META  u32 1, u32 0, u64 length, JSON: the scenario's path and
//               text, the mode, t0, the System V names and ids, the
//               run_start line
//   block RECS  u32 2, u32 0, u64 length (all ones until the run's end: a cut
//               file is read to its last whole record), then per record
//               its 64 bytes and u32 payload length + payload
//   block TAIL  u32 3, u32 0, u64 length, JSON: the expectation lines and
//               run_end, as trace.jsonl has them; a deadlock's DOT graph
//
// Little-endian x86-64 layout; a reader refuses another version.
#pragma once

#include "trace/call_format.hpp"
#include "trace/record.hpp"
#include "util/error.hpp"
#include "util/unique_fd.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace simrun {

inline constexpr std::uint32_t kTraceFileVersion = 1;

// What a saved run needs besides its records to be decoded again.
struct TraceMeta {
    std::string path;    // the scenario file, as the run named it
    std::string source;  // its text (a grading file's placeholders filled in)
    bool controlled = false;
    std::uint64_t t0 = 0;  // the run's start (CLOCK_MONOTONIC ns)
    SysvNames names;
    std::vector<int> semids;
    std::string start_line;  // trace.jsonl's run_start
};

class TraceFileWriter {
public:
    static Result<std::unique_ptr<TraceFileWriter>> open(const std::string& path, const TraceMeta& meta);
    void record(const Record& r, std::string_view payload);
    // The expectation and run_end lines (and a deadlock's wait-for graph in
    // DOT, "" for none); patches the records' length.
    Status finish(const std::vector<std::string>& tail_lines, const std::string& deadlock_dot = {});

private:
    TraceFileWriter(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
    bool write_out();
    UniqueFd fd_;
    std::string path_;
    std::string buf_;
    std::uint64_t recs_at_ = 0;     // where the RECS length field is
    std::uint64_t recs_bytes_ = 0;  // what follows it
    int errno_ = 0;
};

// A saved run, read in two steps: its header (what the plan is made from),
// then its records. Errors (not a saved run, another version, a damaged
// header) say what; a file cut short is read to its last whole record and
// says so in cut().
class TraceFileReader {
public:
    static Result<TraceFileReader, std::string> open(const std::string& path);
    const TraceMeta& meta() const { return meta_; }
    using RecordVisitor = std::function<void(const Record&, std::string_view payload)>;
    // Every record, in order; then the tail. Can be called again (from the start).
    void records(const RecordVisitor& visit);
    const std::vector<std::string>& tail() const { return tail_; }  // expectation lines, then run_end; empty if cut before
    const std::string& cut() const { return cut_; }                 // why the file ends early ("" when whole)
    const std::string& deadlock_dot() const { return dot_; }         // "" when the run did not deadlock

private:
    std::string path_;
    UniqueFd fd_;
    std::uint64_t size_ = 0, records_at_ = 0;
    TraceMeta meta_;
    std::vector<std::string> tail_;
    std::string cut_, dot_;
};

}  // namespace simrun
