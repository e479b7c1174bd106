#include "trace/trace_file.hpp"

#include "util/json.hpp"
#include "util/json_value.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace simrun {
namespace {

constexpr char kMagic[8] = {'S', 'I', 'M', 'R', 'U', 'N', 'T', 'R'};
enum BlockTag : std::uint32_t { kMeta = 1, kRecs = 2, kTail = 3 };
constexpr std::size_t kBlockHead = 16;          // tag, reserved, length
constexpr std::uint64_t kMaxJsonBlock = 64u << 20;  // a header or tail larger than this is damage, not a run
constexpr std::uint32_t kMaxPayload = 16u << 20;    // a record's payload (what one call wrote)
constexpr std::uint64_t kUnfinished = ~0ull;        // the records' length until the run ended

template <typename T>
void put(std::string& out, T v) {
    out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

void block_head(std::string& out, std::uint32_t tag, std::uint64_t length) {
    put(out, tag);
    put(out, std::uint32_t{0});
    put(out, length);
}

std::string pairs_json(const std::vector<std::pair<int, std::string>>& v) {
    std::string out = "[";
    for (const auto& [id, name] : v) {
        if (out.size() > 1) out += ',';
        out += fmt::format("[{},", id);
        append_json_string(out, name);
        out += ']';
    }
    return out + "]";
}

std::string meta_json(const TraceMeta& m) {
    std::string j = "{\"path\":";
    append_json_string(j, m.path);
    j += ",\"source\":";
    append_json_string(j, m.source);
    j += fmt::format(",\"mode\":\"{}\",\"t0\":{},\"sets\":{},\"queues\":{},\"semids\":[", m.controlled ? "controlled" : "free", m.t0,
                     pairs_json(m.names.sets), pairs_json(m.names.queues));
    for (std::size_t i = 0; i < m.semids.size(); ++i) j += fmt::format("{}{}", i ? "," : "", m.semids[i]);
    j += "],\"start\":";
    append_json_string(j, m.start_line);
    return j + "}";
}

// Reads exactly n bytes at the file's position; false at end or error.
bool read_exact(int fd, void* buf, std::size_t n, std::size_t& got) {
    got = 0;
    while (got < n) {
        ssize_t r = ::read(fd, static_cast<char*>(buf) + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        got += static_cast<std::size_t>(r);
    }
    return true;
}

std::vector<std::pair<int, std::string>> pairs_of(const JsonValue& v) {
    std::vector<std::pair<int, std::string>> out;
    for (const auto& p : v.items()) out.emplace_back(p[0].integer(), p[1].str());
    return out;
}

}  // namespace

Result<std::unique_ptr<TraceFileWriter>> TraceFileWriter::open(const std::string& path, const TraceMeta& meta) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd.valid()) return sys_error(fmt::format("open({})", path));
    std::unique_ptr<TraceFileWriter> w(new TraceFileWriter(std::move(fd), path));
    std::string& b = w->buf_;
    b.append(kMagic, sizeof kMagic);
    put(b, kTraceFileVersion);
    put(b, std::uint32_t{0});
    const std::string j = meta_json(meta);
    block_head(b, kMeta, j.size());
    b += j;
    w->recs_at_ = b.size() + 8;
    block_head(b, kRecs, kUnfinished);  // patched by finish()
    if (!w->write_out()) return sys_error(fmt::format("write({})", path), w->errno_);  // a run killed later still leaves a header
    return w;
}

bool TraceFileWriter::write_out() {
    std::size_t done = 0;
    while (!errno_ && done < buf_.size()) {
        ssize_t n = ::write(fd_.get(), buf_.data() + done, buf_.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) errno_ = n < 0 ? errno : ENOSPC;
        else done += static_cast<std::size_t>(n);
    }
    buf_.clear();
    return !errno_;
}

void TraceFileWriter::record(const Record& r, std::string_view payload) {
    if (errno_) return;
    buf_.append(reinterpret_cast<const char*>(&r), sizeof r);
    put(buf_, static_cast<std::uint32_t>(payload.size()));
    buf_ += payload;
    recs_bytes_ += sizeof r + 4 + payload.size();
    if (buf_.size() >= (64u << 10)) write_out();
}

Status TraceFileWriter::finish(const std::vector<std::string>& tail_lines, const std::string& deadlock_dot) {
    std::string j = "{\"lines\":[";
    for (std::size_t i = 0; i < tail_lines.size(); ++i) {
        if (i) j += ',';
        append_json_string(j, tail_lines[i]);
    }
    j += "],\"dot\":";
    append_json_string(j, deadlock_dot);
    j += "}";
    block_head(buf_, kTail, j.size());
    buf_ += j;
    if (write_out() && ::pwrite(fd_.get(), &recs_bytes_, sizeof recs_bytes_, static_cast<off_t>(recs_at_)) != sizeof recs_bytes_) errno_ = errno;
    if (errno_) return sys_error(fmt::format("write({})", path_), errno_);
    return ok_status();
}

namespace {

// The 16-byte head of a block; "" or what is wrong.
std::string block_head_at(int fd, std::uint32_t want, std::uint64_t& length) {
    char b[kBlockHead];
    std::size_t got = 0;
    if (!read_exact(fd, b, sizeof b, got)) return "end of file";
    std::uint32_t tag = 0;
    std::memcpy(&tag, b, 4);
    std::memcpy(&length, b + 8, 8);
    if (tag != want) return fmt::format("block {} where block {} belongs", tag, want);
    return {};
}

// A JSON block whose head was read: its text parsed.
std::string json_body(int fd, std::uint64_t length, std::uint64_t room, JsonValue& out) {
    if (length > kMaxJsonBlock || length > room) return fmt::format("a block of {} bytes with {} left in the file", length, room);
    std::string text(length, '\0');
    std::size_t got = 0;
    if (!read_exact(fd, text.data(), length, got)) return "end of file";
    auto v = parse_json(text);
    if (!v) return v.error();
    out = std::move(v.value());
    return {};
}

}  // namespace

Result<TraceFileReader, std::string> TraceFileReader::open(const std::string& path) {
    TraceFileReader r;
    r.path_ = path;
    r.fd_.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (!r.fd_.valid()) return fmt::format("{}: {}", path, std::strerror(errno));
    struct stat st{};
    if (::fstat(r.fd_.get(), &st) != 0 || !S_ISREG(st.st_mode)) return fmt::format("{}: not a regular file", path);
    r.size_ = static_cast<std::uint64_t>(st.st_size);
    char head[16];
    std::size_t got = 0;
    if (!read_exact(r.fd_.get(), head, sizeof head, got) || std::memcmp(head, kMagic, sizeof kMagic) != 0)
        return fmt::format("{}: not a saved simrun run (it does not start with SIMRUNTR)", path);
    std::uint32_t version = 0;
    std::memcpy(&version, head + 8, 4);
    if (version != kTraceFileVersion)
        return fmt::format("{}: a saved run of format version {}; this simrun reads version {}", path, version, kTraceFileVersion);
    std::uint64_t length = 0;
    JsonValue meta;
    std::string why = block_head_at(r.fd_.get(), kMeta, length);
    if (why.empty()) why = json_body(r.fd_.get(), length, r.size_ - sizeof head - kBlockHead, meta);
    if (!why.empty()) return fmt::format("{}: its header is damaged: {}", path, why);
    TraceMeta& m = r.meta_;
    m.path = meta["path"].str();
    m.source = meta["source"].str();
    m.controlled = meta["mode"].str() == "controlled";
    m.t0 = meta["t0"].whole();
    m.names.sets = pairs_of(meta["sets"]);
    m.names.queues = pairs_of(meta["queues"]);
    for (const auto& id : meta["semids"].items()) m.semids.push_back(id.integer());
    m.start_line = meta["start"].str();
    if (m.source.empty() || m.start_line.empty()) return fmt::format("{}: its header is damaged: no scenario text or run_start", path);
    r.records_at_ = sizeof head + kBlockHead + length;
    return r;
}

void TraceFileReader::records(const RecordVisitor& visit) {
    tail_.clear();
    cut_.clear();
    dot_.clear();
    int fd = fd_.get();
    std::uint64_t length = 0;
    if (::lseek(fd, static_cast<off_t>(records_at_), SEEK_SET) < 0 || !block_head_at(fd, kRecs, length).empty()) {
        cut_ = "the file ends before its first record (the run's outcome was not saved)";
        return;
    }
    std::uint64_t at = records_at_ + kBlockHead;
    const bool whole = length != kUnfinished && length <= size_ - at;
    const std::uint64_t end = whole ? at + length : size_;
    std::string payload;
    std::uint64_t count = 0;
    std::size_t got = 0;
    while (at < end) {
        Record r;
        std::uint32_t n = 0;
        if (end - at < sizeof r + 4 || !read_exact(fd, &r, sizeof r, got) || !read_exact(fd, &n, sizeof n, got)) break;
        if (n > kMaxPayload || end - at - sizeof r - 4 < n) break;
        payload.resize(n);
        if (n && !read_exact(fd, payload.data(), n, got)) break;
        at += sizeof r + 4 + n;
        visit(r, payload);
        ++count;
    }
    if (!whole || at != end) {
        cut_ = fmt::format("the saved run is cut short: it stops after record {} (the run's outcome was not saved)", count);
        return;
    }
    JsonValue tail;
    std::string why = block_head_at(fd, kTail, length);
    if (why.empty()) why = json_body(fd, length, size_ - at - kBlockHead, tail);
    if (!why.empty()) {
        cut_ = fmt::format("the saved run is cut short after its {} records (its outcome: {})", count, why);
        return;
    }
    tail_ = tail["lines"].strings();
    dot_ = tail["dot"].str();
}

}  // namespace simrun
