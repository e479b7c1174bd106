#include "check/evaluator.hpp"

#include "../test_support.hpp"

#include <doctest/doctest.h>
#include <sys/wait.h>

using namespace simrun;

namespace {
struct Fixture {
    Plan plan = test::plan_of(R"toml(
[ipc.sem.s]
members = { a = 2, b = 0 }
[ipc.shm.m]
cells = { x = 0, arr = [0, 0] }
[[process]]
name = "p"
run = []
[[expect]]
final = "0 <= m.x <= 5"
[[expect]]
final = "m.arr[1] * 2 - s.a == 10 || !(s.b == 0)"
[[expect]]
final = "m.x / s.b == 1"
[[expect]]
final = "exit(p) == 3 && signal(p) == 0"
[[expect]]
final = "-m.x % 4 == -1 && 7 / 2 == 3 && 1 + 2 * 3 == 7"
)toml");
    std::vector<std::int64_t> cells{0, 0, 0};
    std::vector<int> sems{2, 0};
    std::vector<int> status{-1};
    std::vector<std::int64_t> queues, psems, received, op_counts, op_errors, op_errno;
    std::vector<std::vector<std::uint64_t>> op_times;

    std::optional<std::int64_t> eval(int i, std::string& err) {
        return eval_expr(plan.expects[i].expr, ValueView{&cells, &sems, &status, &queues, &psems, &received, &op_counts, &op_errors, &op_errno, 0, &op_times}, err);
    }
    std::int64_t eval(int i) {
        std::string err;
        auto v = eval(i, err);
        REQUIRE_MESSAGE(v.has_value(), err);
        return *v;
    }
};
}  // namespace

TEST_CASE("comparisons, chains and logic over cells and semaphores") {
    Fixture f;
    f.cells[0] = 3;
    CHECK(f.eval(0) == 1);
    f.cells[0] = 6;
    CHECK(f.eval(0) == 0);
    f.cells[0] = -1;
    CHECK(f.eval(0) == 0);
    f.cells[2] = 6;  // arr[1]
    CHECK(f.eval(1) == 1);
    f.cells[2] = 5;
    CHECK(f.eval(1) == 0);
    f.sems[1] = 1;
    CHECK(f.eval(1) == 1);
}

TEST_CASE("division by zero is an error, not a crash") {
    Fixture f;
    std::string err;
    CHECK_FALSE(f.eval(2, err).has_value());
    CHECK(err == "division by zero");
}

TEST_CASE("exit and signal read wait statuses") {
    Fixture f;
    CHECK(f.eval(3) == 0);  // not exited: exit() is -1
    f.status[0] = 3 << 8;   // exited 3
    CHECK(f.eval(3) == 1);
    f.status[0] = SIGKILL;  // killed
    CHECK(f.eval(3) == 0);
}

TEST_CASE("arithmetic follows C: truncating division, sign of remainder") {
    Fixture f;
    f.cells[0] = 1;
    CHECK(f.eval(4) == 1);
}

TEST_CASE("message() takes the i-th completion across every matching op, in stream order") {
    Plan plan = test::plan_of(R"toml(
[ipc.msg.q]
[[process]]
name = "a"
run = ["recv q", "recv q 2"]
[[expect]]
final = 'message(recv q, 0) == "first" && message(recv q 2, 0) == "second" && message(recv q, 1) != "x"'
[[expect]]
final = 'message(recv q, 1) == "later"'
[[expect]]
final = 'message(recv q, 3) == ""'
)toml");
    // "recv q" names both ops; "recv q 2" only the second.
    std::vector<std::vector<std::pair<std::uint64_t, std::string>>> data(plan.ops.size());
    data[0] = {{7, "later"}, {2, "first"}};
    data[1] = {{3, "second"}};
    ValueView v{nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 0, nullptr, &data};
    std::string err;
    CHECK(eval_expr(plan.expects[0].expr, v, err) == 1);
    CHECK(eval_expr(plan.expects[1].expr, v, err) == 0);
    CHECK(explain_values(plan, plan.expects[1].expr, v) == "message(recv q, 1) = \"second\"");
    CHECK(eval_expr(plan.expects[2].expr, v, err) == 0);  // no fourth message: equal to nothing, not even ""
    CHECK(explain_values(plan, plan.expects[2].expr, v) == "message(recv q, 3) = none");
    data[1].clear();
    CHECK(eval_expr(plan.expects[1].expr, v, err) == 1);
    CHECK(test::error_of("[ipc.msg.q]\n[[process]]\nname = \"a\"\nrun = ['send q \"x\"']\n[[expect]]\nfinal = 'message(send q, 0) == \"x\"'\n")
              .find("t.toml:6:18: error: message() reads what a read or recv returned; 'send q' is neither") == 0);
}

TEST_CASE("explain_values lists what the expression read") {
    Fixture f;
    f.cells[2] = 4;
    CHECK(explain_values(f.plan, f.plan.expects[1].expr, ValueView{&f.cells, &f.sems, &f.status, &f.queues, &f.psems, &f.received, &f.op_counts, &f.op_errors, &f.op_errno, 0, &f.op_times}) ==
          "m.arr[1] = 4, s.a = 2, s.b = 0");
}
