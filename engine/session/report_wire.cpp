#include "session/report_wire.hpp"

#include <bit>
#include <cstdint>
#include <cstring>

namespace simrun {
namespace {

class Writer {
public:
    void u64(std::uint64_t v) { out_.append(reinterpret_cast<const char*>(&v), sizeof v); }
    void str(const std::string& s) { u64(s.size()), out_ += s; }
    void ints(const std::vector<int>& v) {
        u64(v.size());
        for (int x : v) u64(static_cast<std::uint64_t>(static_cast<std::int64_t>(x)));
    }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

class Reader {
public:
    explicit Reader(const std::string& in) : in_(in) {}
    bool u64(std::uint64_t& v) {
        if (in_.size() - at_ < sizeof v) return false;
        std::memcpy(&v, in_.data() + at_, sizeof v);
        at_ += sizeof v;
        return true;
    }
    bool str(std::string& s) {
        std::uint64_t n;
        if (!u64(n) || in_.size() - at_ < n) return false;
        s.assign(in_, at_, n);
        at_ += n;
        return true;
    }
    bool ints(std::vector<int>& v) {
        std::uint64_t n, x;
        if (!u64(n) || n > (in_.size() - at_) / sizeof x) return false;
        v.clear();
        for (std::uint64_t i = 0; i < n; ++i) {
            if (!u64(x)) return false;
            v.push_back(static_cast<int>(static_cast<std::int64_t>(x)));
        }
        return true;
    }
    bool done() const { return at_ == in_.size(); }

private:
    const std::string& in_;
    std::size_t at_ = 0;
};

constexpr std::uint64_t kMagic = 0x73696d72756e5231;  // "simrunR1"

}  // namespace

std::string encode_report(const RunReport& r) {
    Writer w;
    w.u64(kMagic);
    w.u64(static_cast<std::uint64_t>(r.exit_code));
    w.u64(static_cast<std::uint64_t>(r.outcome));
    w.u64(r.passed);
    w.ints(r.schedule);
    w.u64(r.choices.size());
    for (const auto& c : r.choices) w.ints(c);
    w.str(r.divergence);
    w.u64(r.children.size());
    for (const auto& c : r.children) w.str(c);
    w.u64(r.results.size());
    for (const auto& e : r.results) {
        w.str(e.name), w.u64(static_cast<std::uint64_t>(e.kind)), w.str(e.text), w.u64(e.passed), w.str(e.detail), w.u64(e.implicit);
        w.u64(std::bit_cast<std::uint64_t>(e.points)), w.str(e.want), w.str(e.seen);
    }
    w.u64(r.diagnosis.size());
    for (const auto& d : r.diagnosis) w.str(d);
    return w.take();
}

std::optional<RunReport> decode_report(const std::string& bytes) {
    Reader rd(bytes);
    RunReport r;
    std::uint64_t magic, code, outcome, passed, n;
    if (!rd.u64(magic) || magic != kMagic || !rd.u64(code) || !rd.u64(outcome) || !rd.u64(passed) || !rd.ints(r.schedule)) return std::nullopt;
    r.exit_code = static_cast<ExitCode>(code);
    r.outcome = static_cast<Outcome>(outcome);
    r.passed = passed != 0;
    if (!rd.u64(n)) return std::nullopt;
    for (std::uint64_t i = 0; i < n; ++i)
        if (!rd.ints(r.choices.emplace_back())) return std::nullopt;
    if (!rd.str(r.divergence) || !rd.u64(n)) return std::nullopt;
    for (std::uint64_t i = 0; i < n; ++i)
        if (!rd.str(r.children.emplace_back())) return std::nullopt;
    if (!rd.u64(n)) return std::nullopt;
    for (std::uint64_t i = 0; i < n; ++i) {
        ExpectResult& e = r.results.emplace_back();
        std::uint64_t kind, ok, implicit, points;
        if (!rd.str(e.name) || !rd.u64(kind) || !rd.str(e.text) || !rd.u64(ok) || !rd.str(e.detail) || !rd.u64(implicit) || !rd.u64(points) ||
            !rd.str(e.want) || !rd.str(e.seen))
            return std::nullopt;
        e.kind = static_cast<ExpectKind>(kind), e.passed = ok != 0, e.implicit = implicit != 0, e.points = std::bit_cast<double>(points);
    }
    if (!rd.u64(n)) return std::nullopt;
    for (std::uint64_t i = 0; i < n; ++i)
        if (!rd.str(r.diagnosis.emplace_back())) return std::nullopt;
    if (!rd.done()) return std::nullopt;
    return r;
}

}  // namespace simrun
