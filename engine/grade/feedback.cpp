#include "grade/feedback.hpp"

#include "util/json_value.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <fstream>

namespace simrun {
namespace {

constexpr std::size_t kMaxDiffLines = 400;  // more lines than this are compared as the first kMaxDiffLines

// A value in a trace line: strings bare, arrays of objects as their values.
std::string compact(const JsonValue& v) {
    switch (v.kind()) {
        case JsonValue::Kind::Null: return "null";
        case JsonValue::Kind::Bool: return v.boolean() ? "true" : "false";
        case JsonValue::Kind::Number: return fmt::format("{:g}", v.num());
        case JsonValue::Kind::String: {
            std::string s;
            for (char c : v.str().substr(0, 60))
                s += c == '\n' ? std::string("\\n") : static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? fmt::format("\\x{:02x}", c) : std::string(1, c);
            return v.str().size() > 60 ? s + "…" : s;
        }
        case JsonValue::Kind::Array: {
            std::string out = "[";
            for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + compact(v[i]);
            return out + "]";
        }
        case JsonValue::Kind::Object: {
            std::string out;
            for (const auto& [k, m] : v.members()) out += (out.empty() ? "" : " ") + k + "=" + compact(m);
            return "{" + out + "}";
        }
    }
    return {};
}

// A semop's operations as the course writes them: "#1 -1 undo".
std::string sops(const JsonValue& v) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) {
        const JsonValue& op = v[i];
        out += fmt::format("{}#{} {:+g}{}{}", i ? ", " : "", op["num"].num(), op["op"].num(), op["undo"].boolean() ? " SEM_UNDO" : "",
                           op["nowait"].boolean() ? " IPC_NOWAIT" : "");
    }
    return out + "]";
}

std::string trace_line(const JsonValue& e) {
    const std::string kind = e["kind"].str();
    if (kind == "undo") {  // SEM_UNDO applied at exit: "undo semid 0 #2: 3 → 0 (adj -200, clamped at 0)"
        return fmt::format("#{} {} SEM_UNDO at exit: semid {} #{}: {} → {} (adj {:+g}{})", compact(e["seq"]), e["proc"].str("-"), compact(e["semid"]),
                           compact(e["num"]), compact(e["before"]), compact(e["after"]), e["adj"].num(),
                           e["clamped"].boolean() ? ", clamped at 0" : "");
    }
    if ((kind == "op" || kind == "block") && !e["op"].str().empty()) {  // a scripted op: "P lock.mutex = 0"
        std::string out = fmt::format("#{} {} {} {}", compact(e["seq"]), e["proc"].str("-"), e["op"].str(), e["obj"].str());
        if (kind == "block") return out + " blocks";
        if (!e["value"].is_null()) out += " → " + compact(e["value"]);
        return out + (e["blocked"].boolean() ? " (after waiting)" : "");
    }
    std::string out = fmt::format("#{} {} {}", compact(e["seq"]), e["proc"].str("-"), e["kind"].str() == "call" ? e["call"].str() : e["kind"].str());
    for (const auto& [k, v] : e.members()) {
        if (k == "seq" || k == "t" || k == "proc" || k == "pid" || k == "kind" || k == "call" || k == "schema") continue;
        if (k == "text" && !e["text_hex"].is_null()) continue;  // binary: its hex says it
        out += fmt::format(" {}={}", k, k == "sops" && v.kind() == JsonValue::Kind::Array ? sops(v) : compact(v));
    }
    return out;
}

std::vector<std::string> split_lines(const std::string& s) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at < s.size() && out.size() < kMaxDiffLines) {
        std::size_t nl = s.find('\n', at);
        if (nl == std::string::npos) nl = s.size();
        out.push_back(s.substr(at, nl - at));
        at = nl + 1;
    }
    return out;
}

}  // namespace

TraceExcerpt trace_before(const std::string& trace_path, std::uint64_t upto, std::size_t count) {
    std::ifstream in(trace_path);
    std::deque<std::string> kept;
    TraceExcerpt out;
    std::string line;
    bool past = false;
    while (std::getline(in, line)) {
        auto e = parse_json(line);
        if (!e) continue;
        const std::string kind = e.value()["kind"].str();
        if (kind == "run_end") {
            for (const auto& [proc, v] : e.value()["verdicts"].members())
                if (v["verdict"].str() != "ok")
                    out.verdicts.push_back(fmt::format("{}: {}{}", proc, v["verdict"].str(), v["detail"].str().empty() ? "" : " (" + v["detail"].str() + ")"));
        }
        if (past || kind == "run_start" || kind == "expect" || kind == "run_end") continue;
        if (upto && static_cast<std::uint64_t>(e.value()["seq"].num()) > upto) {
            past = true;
            continue;
        }
        kept.push_back(trace_line(e.value()));
        if (kept.size() > count) kept.pop_front();
    }
    out.lines.assign(kept.begin(), kept.end());
    return out;
}

std::uint64_t event_named(const std::string& detail) {
    const auto at = detail.find("(event ");
    if (at == std::string::npos) return 0;
    return std::strtoull(detail.c_str() + at + 7, nullptr, 10);
}

std::string line_diff(const std::string& want, const std::string& got, std::size_t max_lines) {
    if (want == got) return {};
    const auto a = split_lines(want), b = split_lines(got);
    // The longest common subsequence of lines, then a walk along it.
    std::vector<std::vector<std::uint16_t>> lcs(a.size() + 1, std::vector<std::uint16_t>(b.size() + 1, 0));
    for (std::size_t i = a.size(); i-- > 0;)
        for (std::size_t j = b.size(); j-- > 0;)
            lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    std::vector<std::string> out;
    std::size_t i = 0, j = 0;
    while (i < a.size() || j < b.size()) {
        if (i < a.size() && j < b.size() && a[i] == b[j]) out.push_back("  " + a[i]), ++i, ++j;
        else if (i < a.size() && (j == b.size() || lcs[i + 1][j] >= lcs[i][j + 1])) out.push_back("- " + a[i++]);
        else out.push_back("+ " + b[j++]);
    }
    std::string text;
    for (std::size_t k = 0; k < out.size() && k < max_lines; ++k) text += out[k] + "\n";
    if (out.size() > max_lines) text += fmt::format("({} more lines)\n", out.size() - max_lines);
    if (a == b) text += "(they differ in the line break at the end)\n";
    return text;
}

}  // namespace simrun
