// Control flow compiled into jumps, values into slots, replicas into
// scripts of their own; each misuse a positioned error.
#include "../test_support.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

using simrun::test::error_of;
using simrun::test::first_line;
using simrun::test::plan_of;
using namespace simrun;

namespace {
const std::string kObjects =
    "[ipc.sem.s]\nmembers = { a = 1, b = 0 }\n"  // lines 1-2
    "[ipc.shm.m]\ncells = { x = 0, f = [0, 0, 0] }\n"  // lines 3-4
    "[ipc.msg.q]\n";                                    // line 5

std::string with_run(const std::string& run, const std::string& head = "") {
    return kObjects + "[[process]]\nname = \"p\"\n" + head + "run = [" + run + "]\n";  // run on line 8 (+ head's lines)
}

// The ops of process `name` as "kind:slot" (slot: where a test or jump goes).
std::vector<std::string> shape(const Plan& plan, const std::string& name) {
    std::vector<std::string> out;
    for (const auto& p : plan.processes) {
        if (p.name != name) continue;
        for (std::uint32_t k = 0; k < p.op_count; ++k) {
            const Op& op = plan.ops[p.first_op + k];
            switch (op.kind) {
                case OpKind::Test: out.push_back(std::string((op.flags & kOpWhile) ? "while" : "if") + ":" + std::to_string(op.slot) +
                                                 ((op.flags & kOpSpin) ? " spin" : ""));
                    break;
                case OpKind::Jump: out.push_back("jump:" + std::to_string(op.slot)); break;
                case OpKind::Loop: out.push_back("loop:" + std::to_string(op.slot)); break;
                case OpKind::SetValue: out.push_back("set:" + std::to_string(op.value)); break;
                default: out.push_back(plan.op_text[p.first_op + k]);
            }
        }
    }
    return out;
}
}  // namespace

TEST_CASE("if, else and end become a test and a jump; end itself is no op") {
    Plan plan = plan_of(with_run(R"("if m.x == 1", "  P s.a", "else", "  V s.b", "end", "load m.x")"));
    CHECK(shape(plan, "p") == std::vector<std::string>{"if:3", "P s.a", "jump:4", "V s.b", "load m.x"});
    Plan no_else = plan_of(with_run(R"("if m.x == 1", "P s.a", "end", "V s.a")"));
    CHECK(shape(no_else, "p") == std::vector<std::string>{"if:2", "P s.a", "V s.a"});
}

TEST_CASE("while loops jump back to their test; an empty body is a spin; break leaves the innermost loop") {
    Plan plan = plan_of(with_run(R"("while m.x < 3", "m.x += 1 atomic", "if m.x == 2", "break", "end", "end", "V s.a")"));
    CHECK(shape(plan, "p") == std::vector<std::string>{"while:5", "m.x += 1 atomic", "if:4", "jump:5", "jump:0", "V s.a"});
    Plan spin = plan_of(with_run(R"("while m.x == 0", "end", "V s.a")"));
    CHECK(shape(spin, "p") == std::vector<std::string>{"while:2 spin", "jump:0", "V s.a"});
}

TEST_CASE("repeat sets a counter, then loops on it") {
    Plan plan = plan_of(with_run(R"("repeat 4", "V s.a", "end")"));
    CHECK(shape(plan, "p") == std::vector<std::string>{"set:4", "loop:4", "V s.a", "jump:1"});
}

TEST_CASE("replicas get scripts of their own, {i} and {n} computed") {
    Plan plan = plan_of(with_run(R"("m.f[{i}] = {n}", "if {i} == n - 1", "V s.a", "end")", "count = 3\n"));
    CHECK(shape(plan, "p#0") == std::vector<std::string>{"m.f[0] = 3", "if:3", "V s.a"});
    CHECK(shape(plan, "p#2") == std::vector<std::string>{"m.f[2] = 3", "if:3", "V s.a"});
}

TEST_CASE("a bound value is a slot the later ops read") {
    Plan plan = plan_of(with_run(R"("recv q as req", "send q {req.type + 100} \"ok\"", "load m.x as v", "m.x = {v + req}")"));
    const PlanProcess& p = plan.processes[0];
    const Op& recv = plan.ops[p.first_op];
    const Op& send = plan.ops[p.first_op + 1];
    const Op& load = plan.ops[p.first_op + 2];
    const Op& store = plan.ops[p.first_op + 3];
    CHECK(recv.bind == 1);
    CHECK(load.bind == 2);
    REQUIRE(send.code_len == 3);  // req, 100, +
    CHECK(plan.code[send.code].kind == CodeKind::Value);
    CHECK(plan.code[send.code].slot == 0);
    CHECK(plan.code[send.code + 1].value == 100);
    CHECK(plan.code[send.code + 2].kind == CodeKind::Add);
    REQUIRE(store.code_len == 3);
    CHECK(plan.code[store.code].slot == 1);
}

TEST_CASE("misused control flow and values are positioned errors") {
    CHECK(first_line(error_of(with_run(R"("load m.x", "m.x = {v}")"))) ==
          "t.toml:8:28: error: unknown value 'v': no earlier op binds it (write '... as v' on the op that gives it)");
    CHECK(first_line(error_of(with_run(R"("repeat 2", "load m.x as v", "end", "m.x = {vv}")"))) ==
          "t.toml:8:52: error: unknown value 'vv': no earlier op binds it (write '... as vv' on the op that gives it) (did you mean 'v'?)");
    CHECK(first_line(error_of(with_run(R"("if m.x == 1", "V s.a")"))) == "t.toml:8:9: error: 'if' without 'end'");
    CHECK(first_line(error_of(with_run(R"("repeat 3", "V s.a")"))) == "t.toml:8:9: error: 'repeat' without 'end'");
    CHECK(first_line(error_of(with_run(R"("else")"))) == "t.toml:8:9: error: 'else' without an open 'if'");
    CHECK(first_line(error_of(with_run(R"("if 1", "else", "else", "end")"))) == "t.toml:8:25: error: a second 'else' for the same 'if'");
    CHECK(first_line(error_of(with_run(R"("while 1", "end", "end")"))) == "t.toml:8:27: error: 'end' without an open if, while or repeat");
    CHECK(first_line(error_of(with_run(R"("if 1", "break", "end")"))) == "t.toml:8:17: error: 'break' outside a loop (while or repeat)");
    CHECK(first_line(error_of(with_run(R"("print \"hi\" as v")"))) ==
          "t.toml:8:23: error: 'print' gives no value to bind; 'as' goes with load, recv, read, wait, semctl GETVAL (GETNCNT, GETZCNT) and P ... nowait");
    CHECK(first_line(error_of(with_run(R"("load m.x as s")"))) == "t.toml:8:21: error: 's' is the name of a semaphore set; bind another name");
    CHECK(first_line(error_of(with_run(R"("load m.x as v", "if v.type == 1", "end")"))) ==
          "t.toml:8:29: error: 'v' is a number; write v (a value bound by recv also has v.type)");
    CHECK(first_line(error_of(with_run(R"("if count(P s.a) == 1", "end")"))) ==
          "t.toml:8:18: error: a condition or a {value} reads numbers, shm cells, semaphores and the script's values; count(), exit() and "
          "the like are for expectations");
    CHECK(first_line(error_of(with_run(R"("if m.y == 1", "end")"))) == "t.toml:8:12: error: unknown cell 'm.y' (did you mean 'm.x'?)");
    CHECK(first_line(error_of(with_run(R"("load m.x as v", "exit {v}")"))) ==
          "t.toml:8:31: error: a {value} computed when the op runs goes in a send's type, a stored value or a sigqueue's value");
}

TEST_CASE("an error in one replica's script names the replica") {
    CHECK(first_line(error_of(with_run(R"("m.f[{i + 1}] = 1")", "count = 3\n"))) ==
          "t.toml:9:9: error: index 3 is out of range for 'm.f' (length 3) (in p#2, where i = 2)");
}

TEST_CASE("a script's values and a text's written length have limits, each a positioned error") {
    std::string run;
    for (int k = 0; k < 64; ++k) run += fmt::format("{}\"v{} = {}\"", k ? ", " : "", k, k);
    CHECK_NOTHROW(plan_of(with_run(run)));
    run += ", \"w = 1\"";
    const std::string at = fmt::format("t.toml:8:{}: ", 8 + run.size() - std::string("\"w = 1\"").size() + 1);
    CHECK(first_line(error_of(with_run(run))) == at + "error: a script holds at most 64 values and repeat counters");
    // 4096 bytes once written: the literal, plus 20 for each value.
    const std::string fits(4096 - 20, 'x'), too_long(4096 - 19, 'x');
    CHECK_NOTHROW(plan_of(with_run("\"load m.x as v\", \"print \\\"" + fits + "{v}\\\"\"")));
    CHECK(first_line(error_of(with_run("\"load m.x as v\", \"print \\\"" + too_long + "{v}\\\"\""))) ==
          "t.toml:8:26: error: a text with {values} holds at most 4096 bytes once its values are written");
}

TEST_CASE("loops with a body are watched for idle iterations, unless a program runs") {
    CHECK(plan_of(with_run(R"("while m.x == 0", "load m.x as v", "end")")).watch_loops);
    CHECK_FALSE(plan_of(with_run(R"("while m.x == 0", "end")")).watch_loops);  // a spin: parked on its own
    CHECK_FALSE(plan_of(with_run(R"("repeat 3", "load m.x", "end")")).watch_loops);
    CHECK_FALSE(plan_of(with_run(R"("while m.x == 0", "load m.x as v", "end")") + "[[process]]\nname = \"cc\"\nexec = [\"true\"]\n")
                    .watch_loops);
}

TEST_CASE("a name with a value computed when the op runs: one variant per declared name, after the script") {
    const std::string objects = "[ipc.sem.forks]\nmembers = { f0 = 1, f2 = 1, fx = 1, f01 = 1 }\n"  // lines 1-2
                                "[[process]]\nname = \"w\"\ncount = 2\nrun = [\"pause\"]\n";          // lines 3-6
    auto scenario = [&](const std::string& run) { return objects + "[[process]]\nname = \"p\"\nrun = [" + run + "]\n"; };  // run: line 9
    Plan plan = plan_of(scenario(R"("k = 2", "P forks.f{k}", "kill w#{k - 2} SIGTERM")"));
    // f0 and f2 (fx is no number, f01 is not one as written); w#0 and w#1, then a jump over the variants.
    CHECK(shape(plan, "p") == std::vector<std::string>{"set:2", "P forks.f{k}", "kill w#{k - 2} SIGTERM", "jump:8", "P forks.f0",
                                                       "P forks.f2", "kill w#0 SIGTERM", "kill w#1 SIGTERM"});
    const PlanProcess& p = plan.processes.back();
    const Op& choose = plan.ops[p.first_op + 1];
    REQUIRE(choose.kind == OpKind::Choose);
    CHECK(choose.first == p.first_op + 4);
    CHECK(choose.count == 2);
    CHECK(plan.choice_keys[static_cast<std::size_t>(choose.value)] == 0);
    CHECK(plan.choice_keys[static_cast<std::size_t>(choose.value) + 1] == 2);
    CHECK(plan.ops[choose.first + 1].kind == OpKind::Semop);
    CHECK(op_target(plan, plan.ops[choose.first + 1]) == "forks.f2");

    CHECK(first_line(error_of(scenario(R"("k = 1", "P forks.g{k}")"))) ==
          "t.toml:9:20: error: no declared name is 'forks.g{k}' for a number in place of {k}: a computed name picks one of the declared "
          "names (such as 'forks.g0')");
    CHECK(first_line(error_of(scenario(R"("k = 1", "semop forks.f{k}-1 forks.f{k}+1")"))) ==
          "t.toml:9:44: error: an op takes one name with a value computed when it runs");
    CHECK(first_line(error_of(scenario(R"("k = 1", "fork w#{k}")"))) ==
          "t.toml:9:25: error: fork names the children it forks before the run; a computed name cannot");
    CHECK(first_line(error_of(scenario(R"("P forks.f{j}")"))) ==
          "t.toml:9:19: error: unknown value 'j': no earlier op binds it (write '... as j' on the op that gives it)");
    CHECK(first_line(error_of(scenario(R"("k = 0", "P forks.f{k", "end")"))).find("error:") != std::string::npos);
}
