#include "report/perfetto.hpp"

#include "util/json.hpp"

#include <fmt/format.h>

namespace simrun {
namespace {

// Trace Event Format times are microseconds; ours are ns.
std::string us(std::uint64_t ns) { return fmt::format("{}.{:03}", ns / 1000, ns % 1000); }

}  // namespace

PerfettoWriter::PerfettoWriter(const Plan& plan, std::uint64_t t0, std::FILE* out) : TimelineShapes(plan, t0), file_(out) {
    out_ = "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"scenario\":";
    append_json_string(out_, plan_.name);
    out_ += "},\"traceEvents\":[\n{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{\"name\":";
    append_json_string(out_, "simrun: " + plan_.name);
    out_ += "}}";
}

void PerfettoWriter::on_event(const Event& e) {
    TimelineShapes::on_event(e);
    flush(false);
}

void PerfettoWriter::flush(bool all) {
    if (!all && out_.size() < (64u << 10)) return;
    if (!failed_ && std::fwrite(out_.data(), 1, out_.size(), file_) != out_.size()) failed_ = true;
    out_.clear();
}

void PerfettoWriter::emit_track(int tid, const std::string& name, int order) {
    out_ += fmt::format(",\n{{\"ph\":\"M\",\"pid\":1,\"tid\":{},\"name\":\"thread_name\",\"args\":{{\"name\":", tid);
    append_json_string(out_, name);
    out_ += fmt::format("}}}},\n{{\"ph\":\"M\",\"pid\":1,\"tid\":{},\"name\":\"thread_sort_index\",\"args\":{{\"sort_index\":{}}}}}", tid, order);
}

void PerfettoWriter::emit_slice(int tid, std::uint64_t ts, std::uint64_t dur, const std::string& name, bool blocked) {
    out_ += fmt::format(",\n{{\"ph\":\"X\",\"pid\":1,\"tid\":{},\"ts\":{},\"dur\":{},\"cat\":\"{}\",\"name\":", tid, us(ts), us(dur),
                        blocked ? "blocked" : "op");
    append_json_string(out_, name);
    out_ += blocked ? ",\"args\":{\"blocked\":true}}" : "}";
}

void PerfettoWriter::emit_instant(int tid, std::uint64_t ts, const std::string& name) {
    out_ += fmt::format(",\n{{\"ph\":\"i\",\"s\":\"{}\",\"pid\":1,\"tid\":{},\"ts\":{},\"name\":", tid ? "t" : "g", tid, us(ts));
    append_json_string(out_, name);
    out_ += '}';
}

void PerfettoWriter::emit_counter(std::uint64_t ts, const std::string& name, std::int64_t value) {
    out_ += fmt::format(",\n{{\"ph\":\"C\",\"pid\":1,\"ts\":{},\"name\":", us(ts));
    append_json_string(out_, name);
    out_ += fmt::format(",\"args\":{{\"value\":{}}}}}", value);
}

void PerfettoWriter::emit_flow(int from_tid, std::uint64_t from_ts, int to_tid, std::uint64_t to_ts, const char* cat) {
    const std::uint64_t id = next_flow_++;
    out_ += fmt::format(",\n{{\"ph\":\"s\",\"pid\":1,\"tid\":{},\"ts\":{},\"id\":{},\"cat\":\"{}\",\"name\":\"{}\"}}", from_tid, us(from_ts), id, cat, cat);
    out_ += fmt::format(",\n{{\"ph\":\"f\",\"bp\":\"e\",\"pid\":1,\"tid\":{},\"ts\":{},\"id\":{},\"cat\":\"{}\",\"name\":\"{}\"}}", to_tid, us(to_ts), id, cat, cat);
}

bool PerfettoWriter::finish(const std::vector<AlwaysBreak>& breaks) {
    close(breaks);
    out_ += "\n]}\n";
    flush(true);
    return !failed_ && std::fflush(file_) == 0 && !std::ferror(file_);
}

}  // namespace simrun
