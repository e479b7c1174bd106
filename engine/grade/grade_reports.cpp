#include "grade/grade_reports.hpp"

#include "grade/report_reader.hpp"
#include "util/json.hpp"
#include "util/version.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>

namespace simrun {
namespace {

std::string points(double p) { return fmt::format("{:g}", p); }

// ["a","b"]
void append_json_strings(std::string& out, const std::vector<std::string>& items) {
    out += '[';
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += ',';
        append_json_string(out, items[i]);
    }
    out += ']';
}

bool shown_to_student(const GradeTest& t) { return t.visibility != Visibility::Hidden; }

// Text for XML 1.0: the markup characters escaped; bytes XML cannot hold
// (control characters, bytes that are not UTF-8) written as \xNN.
std::string xml_text(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        bool valid = len > 0 && i + len <= s.size();
        for (std::size_t k = 1; valid && k < len; ++k) valid = (static_cast<unsigned char>(s[i + k]) >> 6) == 2;
        if (!valid || (c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7f) {
            out += fmt::format("\\x{:02x}", c);
            ++i;
            continue;
        }
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&apos;"; break;
            default: out.append(s.substr(i, len));
        }
        i += len;
    }
    return out;
}

// A YAML block scalar's lines, indented under `key: |`.
std::string yaml_block(const std::string& key, const std::string& text, const std::string& indent) {
    std::string out = indent + key + ": |\n";
    std::size_t at = 0;
    while (at <= text.size()) {
        const std::size_t nl = text.find('\n', at);
        const std::string line = text.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
        std::string clean;
        for (unsigned char c : line) clean += c < 0x20 && c != '\t' ? fmt::format("\\x{:02x}", c) : std::string(1, static_cast<char>(c));
        out += indent + "  " + clean + "\n";
        if (nl == std::string::npos) break;
        at = nl + 1;
    }
    return out;
}

}  // namespace

std::string junit_xml(const GradingFile& g, const SubmissionGrade& s) {
    std::size_t failures = 0;
    for (const auto& t : s.tests) failures += !t.passed;
    std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n";
    out += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\" time=\"{:.3f}\">\n", xml_text(s.name),
                       s.tests.size(), failures, s.seconds);
    for (const auto& t : s.tests) {
        out += fmt::format("    <testcase name=\"{}\" classname=\"{}.{}\" time=\"0\"", xml_text(t.test->name), xml_text(g.name), xml_text(s.name));
        if (t.passed) {
            out += "/>\n";
            continue;
        }
        out += fmt::format(">\n      <failure message=\"{}\" type=\"{:g} of {:g} points\">{}</failure>\n    </testcase>\n", xml_text(t.headline()),
                           t.score, t.test->points, xml_text(t.feedback()));
    }
    out += fmt::format("    <system-out>{}</system-out>\n", xml_text(fmt::format("{}: {:g} of {:g} points{}{}", s.name, s.score, s.max_score,
                                                                                  s.problem.empty() ? "" : "\n", s.problem)));
    out += "  </testsuite>\n</testsuites>\n";
    return out;
}

std::string tap_report(const SubmissionGrade& s) {
    // Only what TAP 13 and 14 share, declared 13: Debian 12's prove
    // (Test::Harness 3.44) refuses a stream that says 14.
    std::string out = fmt::format("TAP version 13\n1..{}\n", s.tests.size());
    for (std::size_t i = 0; i < s.tests.size(); ++i) {
        const TestGrade& t = s.tests[i];
        std::string name;
        for (char c : t.test->name) name += c == '#' ? ' ' : c;  // '#' starts a directive
        out += fmt::format("{} {} - {} ({:g} of {:g} points)\n", t.passed ? "ok" : "not ok", i + 1, name, t.score, t.test->points);
        if (t.passed) continue;
        out += "  ---\n" + yaml_block("feedback", t.feedback(), "  ") + "  ...\n";
    }
    return out;
}

std::string gradescope_results(const SubmissionGrade& s) {
    std::string out = fmt::format("{{\"score\":{},\"execution_time\":{:.3f},\"output\":", points(s.score), s.seconds);
    std::string summary = s.problem.empty() ? fmt::format("{} of {} points", points(s.score), points(s.max_score)) : s.problem;
    for (const auto& n : s.notes) summary += "\n" + n;
    append_json_string(out, summary);
    out += ",\"tests\":[";
    for (std::size_t i = 0; i < s.tests.size(); ++i) {
        const TestGrade& t = s.tests[i];
        out += fmt::format("{}{{\"name\":", i ? "," : "");
        append_json_string(out, t.test->name);
        out += fmt::format(",\"score\":{},\"max_score\":{},\"status\":\"{}\",\"visibility\":\"{}\",\"output\":", points(t.score),
                           points(t.test->points), t.passed ? "passed" : "failed", visibility_name(t.test->visibility));
        append_json_string(out, shown_to_student(*t.test) ? (t.passed ? std::string() : t.feedback()) : std::string("a hidden test"));
        out += '}';
    }
    out += "]}\n";
    return out;
}

std::string prairielearn_results(const SubmissionGrade& s) {
    const double fraction = s.max_score > 0 ? s.score / s.max_score : 0;
    // gradable: always; a compile error or a missing file is a grade of 0, not a submission PrairieLearn should ignore.
    std::string out = fmt::format("{{\"gradable\":true,\"score\":{:.6g},\"points\":{},\"max_points\":{},\"message\":", fraction,
                                  points(s.score), points(s.max_score));
    append_json_string(out, s.problem.empty() ? fmt::format("{} of {} points", points(s.score), points(s.max_score)) : s.problem.substr(0, s.problem.find('\n')));
    out += ",\"output\":";
    append_json_string(out, s.problem);
    out += ",\"tests\":[";
    for (std::size_t i = 0; i < s.tests.size(); ++i) {
        const TestGrade& t = s.tests[i];
        out += fmt::format("{}{{\"name\":", i ? "," : "");
        append_json_string(out, t.test->name);
        out += fmt::format(",\"points\":{},\"max_points\":{},\"message\":", points(t.score), points(t.test->points));
        const bool shown = shown_to_student(*t.test);
        append_json_string(out, !shown ? std::string("a hidden test") : t.passed ? std::string("passed") : t.headline());
        out += ",\"output\":";
        append_json_string(out, shown && !t.passed ? t.feedback() : std::string());
        out += '}';
    }
    out += "]}\n";
    return out;
}

std::string autolab_output(const SubmissionGrade& s) {
    std::string out = fmt::format("{}: {} of {} points\n", s.name, points(s.score), points(s.max_score));
    if (!s.problem.empty()) out += s.problem + "\n";
    std::string scores;
    for (const auto& t : s.tests) {
        const bool shown = shown_to_student(*t.test);
        out += fmt::format("{} {}: {} of {}{}\n", t.passed ? "ok" : "FAILED", t.test->name, points(t.score), points(t.test->points),
                           shown && !t.passed ? "\n" + t.feedback() : "");
        if (!scores.empty()) scores += ',';
        append_json_string(scores, t.test->name);
        scores += ":" + points(t.score);
    }
    // The last line, all on one: Autolab reads it as the scores.
    out += fmt::format("{{\"scores\":{{{}}},\"scoreboard\":[{}]}}\n", scores, points(s.score));
    return out;
}

std::string grade_report(const GradingFile& g, const SubmissionGrade& s) {
    std::string out = fmt::format("{{\"schema\":\"{}\",\"simrun_version\":\"{}\",\"assignment\":{}", kGradeReportSchema, kSimrunVersion,
                                  assignment_json(graded_assignment(g)));
    out += ",\"submission\":{\"name\":";
    append_json_string(out, s.name);
    out += ",\"path\":";
    append_json_string(out, s.path);
    out += fmt::format(",\"sha256\":\"{}\"}}", s.sha256);
    out += fmt::format(",\"score\":{},\"max_score\":{},\"seconds\":{:.3f},\"problem\":", points(s.score), points(s.max_score), s.seconds);
    append_json_string(out, s.problem);
    out += ",\"build_output\":";
    append_json_string(out, s.build_output);
    out += ",\"notes\":";
    append_json_strings(out, s.notes);
    out += ",\"tests\":[";
    for (std::size_t i = 0; i < s.tests.size(); ++i) {
        const TestGrade& t = s.tests[i];
        out += fmt::format("{}{{\"name\":", i ? "," : "");
        append_json_string(out, t.test->name);
        out += fmt::format(",\"score\":{},\"max_score\":{},\"passed\":{},\"visibility\":\"{}\",\"seconds\":{:.3f},\"scenario\":{{\"path\":",
                           points(t.score), points(t.test->points), t.passed ? "true" : "false", visibility_name(t.test->visibility), t.seconds);
        append_json_string(out, t.test->scenario);
        out += fmt::format(",\"sha256\":\"{}\"}},\"reason\":", t.scenario_sha256);
        append_json_string(out, t.reason);
        out += ",\"headline\":";
        append_json_string(out, t.passed ? std::string() : t.headline());
        out += ",\"feedback\":";
        append_json_string(out, t.feedback());
        out += ",\"runs\":[";
        for (std::size_t k = 0; k < t.runs.size(); ++k) {
            const RunGrade& r = t.runs[k];
            out += fmt::format("{}{{\"passed\":{},\"mode\":\"{}\"", k ? "," : "", r.passed ? "true" : "false",
                               t.test->explore ? "explore" : r.controlled ? "controlled" : "free");
            if (r.controlled) out += fmt::format(",\"seed\":{}", r.seed);
            if (t.test->explore) out += fmt::format(",\"schedules\":{}", r.explored);
            out += fmt::format(",\"earned\":{:.6g},\"outcome\":", r.earned);
            append_json_string(out, r.outcome);
            out += ",\"again\":";
            append_json_string(out, r.again);
            if (!r.failed.empty()) out += ",\"failed\":", append_json_string(out, r.failed);
            if (!r.diagnosis.empty()) out += ",\"diagnosis\":", append_json_strings(out, r.diagnosis);
            if (!r.diff.empty()) out += ",\"diff\":", append_json_string(out, r.diff);
            if (!r.trace.empty()) out += ",\"trace\":", append_json_strings(out, r.trace);
            if (!r.verdicts.empty()) out += ",\"verdicts\":", append_json_strings(out, r.verdicts);
            out += '}';
        }
        out += "]}";
    }
    out += "]}\n";
    return out;
}

std::string histogram(const std::vector<double>& totals, double max_points) {
    constexpr int kBins = 10;
    std::vector<int> bins(kBins, 0);
    for (double t : totals) {
        int b = max_points > 0 ? static_cast<int>(t / max_points * kBins) : 0;
        bins[static_cast<std::size_t>(std::clamp(b, 0, kBins - 1))]++;  // the full score joins the top bin
    }
    std::string out = "totals:\n";
    for (int b = kBins - 1; b >= 0; --b) {
        const double lo = max_points * b / kBins, hi = max_points * (b + 1) / kBins;
        out += fmt::format("  {:>6g}{}{:<6g} {:>3} {}\n", lo, "–", hi, bins[static_cast<std::size_t>(b)],
                           std::string(static_cast<std::size_t>(bins[static_cast<std::size_t>(b)]), '#'));
    }
    return out;
}

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

bool write_text_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    return static_cast<bool>(out);
}

}  // namespace simrun
