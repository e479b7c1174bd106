#include "grade/grading_file.hpp"

#include "scenario/scenario_reader.hpp"
#include "scenario/toml_fields.hpp"
#include "scenario/toml_text.hpp"
#include "util/duration.hpp"
#include "util/sha256.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>
#include <unistd.h>

namespace simrun {
namespace {

using namespace toml_fields;

constexpr std::int64_t kMaxRuns = 10000;

std::int64_t get_duration(const toml::node& n, const std::string& what) {
    const std::string text = get_string(n, what);
    auto ns = parse_duration_ns(text);
    if (!ns || *ns <= 0) fail(pos_of(n), fmt::format("{} must be a duration such as \"30s\" or \"500ms\", got '{}'", what, text));
    return *ns;
}

// The seeds = N of a test: drawn from the master seed and the test's name,
// so that grading again draws the same, and tests draw different ones.
std::vector<std::uint64_t> drawn_seeds(std::uint64_t master, const std::string& test, std::int64_t n) {
    std::uint64_t h = master ^ 1469598103934665603ull;
    for (unsigned char c : test) h = (h ^ c) * 1099511628211ull;
    std::vector<std::uint64_t> out;
    for (std::int64_t i = 0; i < n; ++i) {
        h ^= h >> 33, h *= 0xff51afd7ed558ccdull, h ^= h >> 33;
        out.push_back(h % 1000000 + 1);
    }
    return out;
}

ExploreSpec read_explore(const toml::node& node) {
    const auto& t = as_table(node, "explore");
    check_keys(t, {"runs", "strategy", "exhaustive", "preemptions", "depth"}, "explore");
    ExploreSpec e;
    if (const auto* n = t.get("runs")) e.runs = get_int(*n, "explore's runs", 1, 100000);
    if (const auto* n = t.get("strategy")) {
        e.strategy = get_string(*n, "explore's strategy");
        if (e.strategy != "random" && e.strategy != "pct")
            fail(pos_of(*n), fmt::format("explore's strategy is \"random\" or \"pct\", not '{}'{}", e.strategy,
                                         did_you_mean_suffix(e.strategy, {"random", "pct"})));
    }
    if (const auto* n = t.get("exhaustive")) e.exhaustive = get_bool(*n, "exhaustive");
    if (e.exhaustive && !t.get("runs")) e.runs = 100000;
    if (const auto* n = t.get("preemptions")) {
        if (!e.exhaustive) fail(pos_of(*n), "preemptions bounds an exhaustive search: add 'exhaustive = true'");
        e.preemptions = get_int(*n, "preemptions", 0, 20);
    }
    if (const auto* n = t.get("depth")) {
        if (e.strategy != "pct" || e.exhaustive) fail(pos_of(*n), "depth is pct's bug depth: it goes with strategy = \"pct\"");
        e.depth = get_int(*n, "depth", 1, 100);
    }
    if (e.exhaustive && t.get("strategy")) fail(pos_of(*t.get("strategy")), "an exhaustive search has no strategy");
    return e;
}

// [[test.expect]]: each table checked for its keys (the scenario reader
// checks the rest once it is appended) and written back as [[expect]].
std::string read_teacher_expects(const toml::node& node) {
    std::string out;
    each_in_array(node, "test.expect", [&](const toml::node& n, std::size_t) {
        const auto& t = as_table(n, "[[test.expect]]");
        check_keys(t, {"name", "final", "always", "outcome", "stdout", "equals", "equals_words", "matches", "points"}, "[[test.expect]]");
        std::ostringstream text;
        text << toml::toml_formatter(t);
        out += "\n[[expect]]\n" + text.str() + "\n";
    });
    return out;
}

GradeTest read_test(const toml::node& node, const GradingFile& g) {
    const auto& t = as_table(node, "[[test]]");
    check_keys(t, {"name", "points", "visibility", "scenario", "needs", "runs", "seeds", "explore", "scoring", "expect"}, "[[test]]");
    GradeTest test;
    test.line = pos_of(node).line;
    const auto* name = t.get("name");
    if (!name) fail(pos_of(node), "a [[test]] needs a 'name'");
    test.name = get_string(*name, "name");
    if (test.name.empty()) fail(pos_of(*name), "a test's name cannot be empty");
    const auto* points = t.get("points");
    if (!points) fail(pos_of(node), fmt::format("test '{}' needs 'points'", test.name));
    test.points = get_points(*points, "points");
    if (const auto* v = t.get("visibility")) {
        const std::string s = get_string(*v, "visibility");
        static const std::vector<std::string> names{"visible", "hidden", "after_due_date", "after_published"};
        auto it = std::find(names.begin(), names.end(), s);
        if (it == names.end())
            fail(pos_of(*v), fmt::format("visibility is one of visible, hidden, after_due_date, after_published, not '{}'{}", s,
                                         did_you_mean_suffix(s, names)));
        test.visibility = static_cast<Visibility>(it - names.begin());
    }
    const auto* scenario = t.get("scenario");
    if (!scenario) fail(pos_of(node), fmt::format("test '{}' needs 'scenario', the scenario file that runs the submission", test.name));
    const std::string file = get_string(*scenario, "scenario");
    if (file.rfind(kSubmission, 0) == 0) {
        const std::string rest = file.substr(std::string(kSubmission).size());
        if (rest.size() < 2 || rest[0] != '/' || rest.find("..") != std::string::npos)
            fail(pos_of(*scenario), fmt::format("a scenario in the submission is a path inside it, such as \"{{submission}}/fix.toml\", not '{}'", file));
        test.scenario = file;
        test.student_scenario = true;
    } else {
        test.scenario = !file.empty() && file[0] == '/' ? file : g.dir + "/" + file;
        auto text = read_source_file(test.scenario, "scenario");
        if (!text) fail(pos_of(*scenario), fmt::format("{} ({})", text.error().message, test.scenario));
        test.scenario_sha256 = sha256_hex(text.value());
    }
    if (const auto* n = t.get("expect")) test.expects = read_teacher_expects(*n);
    if (const auto* n = t.get("needs")) test.needs = get_string(*n, "needs");
    if (const auto* n = t.get("runs")) test.runs = get_int(*n, "runs", 1, kMaxRuns);
    if (const auto* n = t.get("seeds")) {
        if (t.get("runs")) fail(pos_of(*n), "a test has 'runs' (free runs) or 'seeds' (controlled runs), not both");
        if (n->is_integer()) {
            test.seeds = drawn_seeds(g.seed, test.name, get_int(*n, "seeds", 1, kMaxRuns));
        } else if (const auto* arr = n->as_array()) {
            if (arr->empty()) fail(pos_of(*n), "seeds needs at least one seed");
            for (const auto& s : *arr) test.seeds.push_back(static_cast<std::uint64_t>(get_int(s, "a seed", 0, 0x7fffffffffffffff)));
        } else {
            fail(pos_of(*n), fmt::format("seeds must be a number of seeds or a list of them, not {}", type_name(*n)));
        }
    }
    if (const auto* n = t.get("explore")) {
        if (t.get("runs") || t.get("seeds")) fail(pos_of(*n), "a test has 'runs', 'seeds' or 'explore', one of them");
        test.explore = read_explore(*n);
        test.explore->seed = drawn_seeds(g.seed, test.name, 1)[0];
    }
    if (test.runs == 0 && test.seeds.empty() && !test.explore) test.runs = 1;
    if (const auto* n = t.get("scoring")) {
        const std::string s = get_string(*n, "scoring");
        if (s != "all" && s != "partial") fail(pos_of(*n), fmt::format("scoring is \"all\" (every run must pass) or \"partial\", not '{}'", s));
        test.partial = s == "partial";
    }
    return test;
}

void read(const toml::table& root, GradingFile& g) {
    check_keys(root, {"assignment", "build", "test"}, "the grading file");
    const auto* a = root.get("assignment");
    if (!a) fail({1, 1}, "the grading file needs an [assignment] with its name and points");
    const auto& at = as_table(*a, "[assignment]");
    check_keys(at, {"name", "description", "points", "seed"}, "[assignment]");
    const auto* name = at.get("name");
    if (!name) fail(pos_of(*a), "[assignment] needs a 'name'");
    g.name = get_string(*name, "name");
    if (const auto* n = at.get("description")) g.description = get_string(*n, "description");
    const auto* points = at.get("points");
    if (!points) fail(pos_of(*a), "[assignment] needs 'points', the total the tests' points add up to");
    g.points = get_points(*points, "points");
    if (const auto* n = at.get("seed")) g.seed = static_cast<std::uint64_t>(get_int(*n, "seed", 0, 0x7fffffffffffffff));
    if (const auto* b = root.get("build")) {
        const auto& bt = as_table(*b, "[build]");
        check_keys(bt, {"command", "required", "timeout"}, "[build]");
        if (const auto* n = bt.get("command")) g.build = get_string(*n, "command");
        if (const auto* n = bt.get("timeout")) g.build_timeout_ns = get_duration(*n, "timeout");
        if (const auto* n = bt.get("required")) {
            const auto* arr = n->as_array();
            if (!arr) fail(pos_of(*n), "required must be a list of file names, e.g. [\"prodcons.c\"]");
            for (const auto& f : *arr) {
                std::string file = get_string(f, "a required file");
                if (file.empty() || file[0] == '/' || file.find("..") != std::string::npos)
                    fail(pos_of(f), fmt::format("a required file is a path inside the submission, not '{}'", file));
                g.required.push_back(file);
            }
        }
    }
    const auto* tests = root.get("test");
    if (!tests) fail({1, 1}, "the grading file declares no [[test]]");
    std::set<std::string> names;
    std::vector<const toml::node*> nodes;
    each_in_array(*tests, "test", [&](const toml::node& n, std::size_t) {
        GradeTest t = read_test(n, g);
        if (!names.insert(t.name).second) fail(pos_of(n), fmt::format("duplicate test name '{}'", t.name));
        g.tests.push_back(std::move(t));
        nodes.push_back(&n);
    });
    std::vector<std::string> all(names.begin(), names.end());
    for (std::size_t i = 0; i < g.tests.size(); ++i) {
        const auto& t = g.tests[i];
        if (t.needs.empty()) continue;
        const auto* needs = nodes[i]->as_table()->get("needs");
        bool earlier = false;
        for (std::size_t j = 0; j < i; ++j) earlier = earlier || g.tests[j].name == t.needs;
        if (!names.count(t.needs))
            fail(pos_of(*needs), fmt::format("unknown test '{}'{}", t.needs, did_you_mean_suffix(t.needs, all)));
        if (!earlier) fail(pos_of(*needs), fmt::format("test '{}' needs '{}', which must come before it", t.name, t.needs));
    }
    double sum = 0;
    for (const auto& t : g.tests) sum += t.points;
    if (std::fabs(sum - g.points) > 1e-9)
        fail(pos_of(*points), fmt::format("the tests' points add up to {}, not the {} the assignment gives", sum, g.points));
}

}  // namespace

const char* visibility_name(Visibility v) {
    switch (v) {
        case Visibility::Visible: return "visible";
        case Visibility::Hidden: return "hidden";
        case Visibility::AfterDueDate: return "after_due_date";
        case Visibility::AfterPublished: return "after_published";
    }
    return "visible";
}

Result<GradingFile, std::string> read_grading_file(const std::string& path) {
    auto source = read_source_file(path, "the grading file");
    if (!source) return render_diagnostic(path, "", source.error());
    return read_grading_source(path, source.value());
}

Result<GradingFile, std::string> read_grading_source(const std::string& path, const std::string& text) {
    GradingFile g;
    g.path = path;
    g.sha256 = sha256_hex(text);
    const auto slash = path.find_last_of('/');
    g.dir = slash == std::string::npos ? "." : path.substr(0, slash);
    try {
        auto root = parse_toml(text, path);
        if (!root) return render_diagnostic(path, text, root.error());
        read(root.value(), g);
    } catch (const Failure& f) {
        return render_diagnostic(path, text, f.d);
    }
    return g;
}

}  // namespace simrun
