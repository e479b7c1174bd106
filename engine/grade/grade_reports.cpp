#include "grade/grade_reports.hpp"

#include "util/json.hpp"

#include <fmt/format.h>

#include <fstream>

namespace simrun {
namespace {

std::string points(double p) { return fmt::format("{:g}", p); }

bool shown_to_student(const GradeTest& t) { return t.visibility != Visibility::Hidden; }

}  // namespace

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

std::string grade_report(const GradingFile& g, const SubmissionGrade& s) {
    std::string out = fmt::format("{{\"schema\":\"{}\",\"assignment\":", kGradeReportSchema);
    append_json_string(out, g.name);
    out += ",\"submission\":";
    append_json_string(out, s.name);
    out += fmt::format(",\"score\":{},\"max_score\":{},\"problem\":", points(s.score), points(s.max_score));
    append_json_string(out, s.problem);
    out += ",\"build_output\":";
    append_json_string(out, s.build_output);
    out += ",\"notes\":[";
    for (std::size_t i = 0; i < s.notes.size(); ++i) {
        if (i) out += ',';
        append_json_string(out, s.notes[i]);
    }
    out += "],\"tests\":[";
    for (std::size_t i = 0; i < s.tests.size(); ++i) {
        const TestGrade& t = s.tests[i];
        out += fmt::format("{}{{\"name\":", i ? "," : "");
        append_json_string(out, t.test->name);
        out += fmt::format(",\"score\":{},\"max_score\":{},\"passed\":{},\"visibility\":\"{}\",\"feedback\":", points(t.score),
                           points(t.test->points), t.passed ? "true" : "false", visibility_name(t.test->visibility));
        append_json_string(out, t.feedback());
        out += ",\"runs\":[";
        for (std::size_t k = 0; k < t.runs.size(); ++k) {
            const RunGrade& r = t.runs[k];
            out += fmt::format("{}{{\"passed\":{},\"mode\":\"{}\"", k ? "," : "", r.passed ? "true" : "false", r.controlled ? "controlled" : "free");
            if (r.controlled) out += fmt::format(",\"seed\":{}", r.seed);
            out += fmt::format(",\"outcome\":\"{}\",\"again\":", r.outcome);
            append_json_string(out, r.again);
            if (!r.failed.empty()) out += ",\"failed\":", append_json_string(out, r.failed);
            out += '}';
        }
        out += "]}";
    }
    out += "]}\n";
    return out;
}

std::string grade_table(const GradingFile& g, const SubmissionGrade& s) {
    std::string out = fmt::format("{}: {} of {} points\n", s.name, points(s.score), points(s.max_score));
    if (!s.problem.empty()) out += fmt::format("  {}\n", s.problem.substr(0, s.problem.find('\n')));
    std::size_t width = 4;
    for (const auto& t : g.tests) width = std::max(width, t.name.size());
    for (const auto& t : s.tests) {
        out += fmt::format("  {} {:<{}}  {:>5} / {:<5}", t.passed ? "✔" : "✘", t.test->name, width, points(t.score), points(t.test->points));
        if (!t.passed) out += "  " + t.headline();
        out += '\n';
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
