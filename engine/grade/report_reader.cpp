#include "grade/report_reader.hpp"

#include "grade/grade_reports.hpp"
#include "grade/grading_file.hpp"
#include "util/json.hpp"

#include <fmt/format.h>

namespace simrun {

GradedAssignment graded_assignment(const GradingFile& g) {
    GradedAssignment a{g.name, g.path, g.sha256, g.points, {}};
    for (const auto& t : g.tests) a.tests.push_back({t.name, visibility_name(t.visibility), t.points});
    return a;
}

std::string assignment_json(const GradedAssignment& a) {
    std::string out = "{\"name\":";
    append_json_string(out, a.name);
    out += fmt::format(",\"points\":{:g},\"path\":", a.points);
    append_json_string(out, a.path);
    out += fmt::format(",\"sha256\":\"{}\",\"tests\":[", a.sha256);
    for (std::size_t i = 0; i < a.tests.size(); ++i) {
        out += i ? ",{\"name\":" : "{\"name\":";
        append_json_string(out, a.tests[i].name);
        out += fmt::format(",\"points\":{:g},\"visibility\":\"{}\"}}", a.tests[i].points, a.tests[i].visibility);
    }
    return out + "]}";
}

GradedAssignment assignment_from(const JsonValue& a) {
    GradedAssignment g;
    g.name = a["name"].str();
    g.path = a["path"].str();
    g.sha256 = a["sha256"].str();
    g.points = a["points"].num();
    for (const auto& t : a["tests"].items()) g.tests.push_back({t["name"].str(), t["visibility"].str(), t["points"].num()});
    return g;
}

GradedSubmission submission_from(const JsonValue& s) {
    GradedSubmission out;
    out.score = s["score"].num();
    out.max_score = s["max_score"].num();
    out.seconds = s["seconds"].num();
    out.problem = s["problem"].str();
    out.report = s["report"].str();
    for (const auto& t : s["tests"].items()) {
        GradedTest g{t["name"].str(), t["score"].num(), t["max_score"].num(), t["passed"].boolean(), t["headline"].str(), 0, 0};
        if (t["runs"].kind() == JsonValue::Kind::Array) {
            g.runs = t["runs"].size();
            for (const auto& r : t["runs"].items()) g.failed_runs += !r["passed"].boolean();
        } else {
            g.runs = static_cast<std::size_t>(t["runs"].whole());
            g.failed_runs = static_cast<std::size_t>(t["failed_runs"].whole());
        }
        out.tests.push_back(std::move(g));
    }
    return out;
}

Result<GradedSubmission, std::string> read_grade_report(const std::string& text, GradedAssignment* assignment) {
    auto doc = parse_json(text);
    if (!doc) return "not JSON: " + doc.error();
    const JsonValue& r = doc.value();
    if (r["schema"].str() != kGradeReportSchema)
        return fmt::format("schema '{}', not {}", r["schema"].str("(none)"), kGradeReportSchema);
    if (r["submission"].kind() != JsonValue::Kind::Object || r["tests"].kind() != JsonValue::Kind::Array) return std::string("no submission or tests");
    GradedSubmission s = submission_from(r);
    s.name = r["submission"]["name"].str();
    s.path = r["submission"]["path"].str();
    s.sha256 = r["submission"]["sha256"].str();
    if (assignment) *assignment = assignment_from(r["assignment"]);
    return s;
}

std::string submission_json(const GradedSubmission& s) {
    std::string out = "{\"name\":";
    append_json_string(out, s.name);
    out += ",\"path\":";
    append_json_string(out, s.path);
    out += fmt::format(",\"sha256\":\"{}\",\"score\":{:g},\"max_score\":{:g},\"seconds\":{:.3f},\"problem\":", s.sha256, s.score, s.max_score, s.seconds);
    append_json_string(out, s.problem);
    out += ",\"report\":";
    append_json_string(out, s.report);
    out += ",\"tests\":[";
    for (std::size_t i = 0; i < s.tests.size(); ++i) {
        const GradedTest& t = s.tests[i];
        out += i ? ",{\"name\":" : "{\"name\":";
        append_json_string(out, t.name);
        out += fmt::format(",\"score\":{:g},\"max_score\":{:g},\"passed\":{},\"runs\":{},\"failed_runs\":{},\"headline\":", t.score, t.max_score,
                           t.passed ? "true" : "false", t.runs, t.failed_runs);
        append_json_string(out, t.headline);
        out += '}';
    }
    return out + "]}";
}

}  // namespace simrun
