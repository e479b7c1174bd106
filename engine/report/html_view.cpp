#include "report/html_view.hpp"

#include "html_page.h"  // kHtmlPage: report/html/timeline.html, made at build time
#include "report/timeline.hpp"
#include "util/json.hpp"

#include <fmt/format.h>

#include <string_view>

namespace simrun {

std::string html_page(const std::string& data_json) {
    constexpr std::string_view kMarker = "/*SIMRUN-DATA*/";
    const std::string_view page(kHtmlPage);
    const std::size_t at = page.find(kMarker);
    std::string out(page.substr(0, at));
    // Inside <script>, "</" could end the element early.
    for (std::size_t i = 0; i < data_json.size(); ++i) {
        if (data_json[i] == '<' && i + 1 < data_json.size() && data_json[i + 1] == '/') out += "<\\";
        else out += data_json[i];
    }
    if (at != std::string_view::npos) out += page.substr(at + kMarker.size());
    return out;
}

std::string replay_command(const std::string& scenario_path, const std::string& run_dir, bool controlled) {
    return controlled ? fmt::format("simrun replay {} {}/schedule.toml", scenario_path, run_dir) : fmt::format("simrun view {}", run_dir);
}

HtmlWriter::HtmlWriter(const Plan& plan, std::uint64_t t0, std::FILE* out) : TimelineShapes(plan, t0), file_(out) {}

void HtmlWriter::item(std::string& list, const std::string& json) {
    if (!list.empty()) list += ',';
    list += json;
}

int HtmlWriter::text(const std::string& s) {
    auto [it, fresh] = string_index_.emplace(s, static_cast<int>(string_index_.size()));
    if (fresh) {
        if (!strings_.empty()) strings_ += ',';
        append_json_string(strings_, s);
    }
    return it->second;
}

void HtmlWriter::on_event(const Event& e) {
    TimelineShapes::on_event(e);
    if (!last_tid()) return;  // run-level events are not a process's
    item(events_, fmt::format("[{},{},{},{}]", rel(e.ts), last_tid(), text(event_kind_name(e)), text(describe_event(plan_, e))));
}

void HtmlWriter::emit_track(int tid, const std::string& name, int order) { item(tracks_, fmt::format("[{},{},{}]", tid, text(name), order)); }

void HtmlWriter::emit_slice(int tid, std::uint64_t ts, std::uint64_t dur, const std::string& name, bool blocked) {
    item(slices_, fmt::format("[{},{},{},{},{}]", tid, ts, dur, text(name), blocked ? 1 : 0));
}

void HtmlWriter::emit_instant(int tid, std::uint64_t ts, const std::string& name) { item(instants_, fmt::format("[{},{},{}]", tid, ts, text(name))); }

void HtmlWriter::emit_counter(std::uint64_t ts, const std::string& name, std::int64_t value) {
    auto [it, fresh] = counters_.emplace(name, std::string());
    if (fresh) counter_order_.push_back(name);
    item(it->second, fmt::format("[{},{}]", ts, value));
}

void HtmlWriter::emit_flow(int from_tid, std::uint64_t from_ts, int to_tid, std::uint64_t to_ts, const char* cat) {
    item(flows_, fmt::format("[{},{},{},{},{}]", from_tid, from_ts, to_tid, to_ts, text(cat)));
}

bool HtmlWriter::finish(const HtmlFacts& facts) {
    close(facts.breaks);
    std::string j = "{\"scenario\":";
    append_json_string(j, plan_.name);
    j += ",\"description\":";
    append_json_string(j, plan_.description);
    j += ",\"path\":";
    append_json_string(j, plan_.path);
    j += ",\"replay\":";
    append_json_string(j, facts.replay);
    j += ",\"start\":" + (facts.start_line.empty() ? std::string("{}") : facts.start_line);
    j += ",\"tail\":[";
    for (std::size_t i = 0; i < facts.tail_lines.size(); ++i) j += (i ? "," : "") + facts.tail_lines[i];
    j += "],\"breaks\":[";
    for (std::size_t i = 0; i < facts.breaks.size(); ++i) {
        if (i) j += ',';
        j += "[";
        append_json_string(j, facts.breaks[i].expectation);
        j += ",";
        append_json_string(j, facts.breaks[i].proc);
        j += fmt::format(",{}]", rel(facts.breaks[i].ts));
    }
    j += "],\"dot\":";
    append_json_string(j, facts.deadlock_dot);
    j += ",\"strings\":[" + strings_ + "],\"tracks\":[" + tracks_ + "],\"slices\":[" + slices_ + "],\"instants\":[" + instants_ +
         "],\"flows\":[" + flows_ + "],\"events\":[" + events_ + "],\"counters\":[";
    for (std::size_t i = 0; i < counter_order_.size(); ++i) {
        if (i) j += ',';
        j += "[";
        append_json_string(j, counter_order_[i]);
        j += ",[" + counters_[counter_order_[i]] + "]]";
    }
    j += "]}";
    const std::string page = html_page(j);
    return std::fwrite(page.data(), 1, page.size(), file_) == page.size() && std::fflush(file_) == 0 && !std::ferror(file_);
}

}  // namespace simrun
