#include "scenario/expr.hpp"

#include <doctest/doctest.h>

#include <csignal>

using namespace simrun;

namespace {
ExprTree parse(const std::string& text) {
    ExprTree t;
    ExprError err;
    REQUIRE_MESSAGE(parse_expr(text, t, err), err.message);
    return t;
}
ExprError error(const std::string& text) {
    ExprTree t;
    ExprError err;
    CHECK_FALSE(parse_expr(text, t, err));
    return err;
}
}  // namespace

TEST_CASE("precedence: || below && below comparisons below + below *") {
    auto t = parse("a.x + 2 * b.y > 3 && !c.z || d.w");
    CHECK(t.nodes[t.root].op == ExprOp::Or);
    const auto& and_node = t.nodes[t.nodes[t.root].lhs];
    CHECK(and_node.op == ExprOp::And);
    const auto& gt = t.nodes[and_node.lhs];
    CHECK(gt.op == ExprOp::Gt);
    CHECK(t.nodes[gt.lhs].op == ExprOp::Add);
    CHECK(t.nodes[t.nodes[gt.lhs].rhs].op == ExprOp::Mul);
    CHECK(t.nodes[and_node.rhs].op == ExprOp::Not);
}

TEST_CASE("comparison chains mean every comparison holds") {
    auto t = parse("0 <= buf.count <= 5");
    const auto& root = t.nodes[t.root];
    CHECK(root.op == ExprOp::And);
    CHECK(t.nodes[root.lhs].op == ExprOp::Le);
    CHECK(t.nodes[root.rhs].op == ExprOp::Le);
    CHECK(t.nodes[root.lhs].rhs == t.nodes[root.rhs].lhs);  // the middle operand is shared
}

TEST_CASE("references, indices and process functions") {
    auto t = parse("buf.items[3] == exit(consumer#1) + signal(p)");
    const auto& eq = t.nodes[t.root];
    const auto& ref = t.nodes[eq.lhs];
    CHECK(ref.op == ExprOp::Ref);
    CHECK(ref.object == "buf");
    CHECK(ref.member == "items");
    CHECK(ref.indexed);
    CHECK(ref.index == 3);
    const auto& add = t.nodes[eq.rhs];
    CHECK(t.nodes[add.lhs].op == ExprOp::Exit);
    CHECK(t.nodes[add.lhs].object == "consumer#1");
    CHECK(t.nodes[add.rhs].op == ExprOp::Signal);
}

TEST_CASE("errors carry the offset of the offending character") {
    CHECK(error("a.x == ").offset == 7);
    CHECK(error("a.x == ").message == "expression ends too early");
    CHECK(error("a.x ==== 1").offset == 6);
    CHECK(error("a.x [").message == "unexpected '['");
    CHECK(error("exit(p").message == "expected ')'");
    CHECK(error("exit(3)").message == "expected a process name");
    CHECK(error("a.").message == "expected a member name after '.'");
    CHECK(error("99999999999999999999 > 1").message == "integer out of range");
}

TEST_CASE("function arguments are taken as written, each with its position") {
    auto t = parse("before( send q ,recv q ) && count(V slots.full) > 2 && received(p#1, SIGUSR1) == 1");
    const ExprNode* before = nullptr;
    const ExprNode* count = nullptr;
    const ExprNode* received = nullptr;
    for (const auto& n : t.nodes) {
        if (n.op == ExprOp::Before) before = &n;
        if (n.op == ExprOp::Count) count = &n;
        if (n.op == ExprOp::Received) received = &n;
    }
    REQUIRE(before);
    CHECK(before->object == "send q");
    CHECK(before->offset == 8);
    CHECK(before->second == "recv q");
    CHECK(before->second_offset == 16);
    REQUIRE(count);
    CHECK(count->object == "V slots.full");
    REQUIRE(received);
    CHECK(received->object == "p#1");
    CHECK(received->value == SIGUSR1);
    CHECK(error("count()").message == "expected count(OP), e.g. count(V slots.full)");
    CHECK(error("before(a b)").message == "expected before(OP, OP), e.g. before(send q, recv q)");
    CHECK(error("before(a, b, c)").offset == 11);
    CHECK(parse("count(semop s.a -1, s.b +1) == 1").nodes[0].object == "semop s.a -1, s.b +1");
    CHECK(error("received(p, SIGNOPE)").offset == 12);
    CHECK(error("count(V x").message == "expected count(OP), e.g. count(V slots.full)");
}

TEST_CASE("message(OP, i) compares with a string literal, escapes and all") {
    auto t = parse(R"(message(recv q 3, 1) != "a\"b\n" && 1)");
    const ExprNode& m = t.nodes[0];
    CHECK(m.op == ExprOp::Message);
    CHECK(m.object == "recv q 3");
    CHECK(m.value == 1);
    CHECK(m.negate);
    CHECK(m.literal == "a\"b\n");
    CHECK(error("message(recv q, x) == \"a\"").message == "expected an index from 0 (the first message), got 'x'");
    CHECK(error("message(recv q, x) == \"a\"").offset == 16);
    CHECK(error("message(recv q, 0) < \"a\"").message ==
          "expected == or != after message(...): message(OP, INDEX) == \"text\", e.g. message(recv q, 0) == \"ping\"");
    CHECK(error("message(recv q, 0) == 3").message == "expected a quoted string");
    CHECK(error("message(recv q, 0) == \"abc").message == "the string has no closing quote");
    CHECK(error("message(recv q, 0) == \"a\\qb\"").message == "unknown escape '\\q' (\\n \\t \\\" \\\\)");
}

TEST_CASE("expressions are bounded in depth and size") {
    CHECK(error(std::string(101, '(') + "1" + std::string(101, ')')).message == "the expression nests deeper than 100 levels");
    CHECK(error(std::string(5000, '!') + "1").message == "the expression nests deeper than 100 levels");
    std::string sum = "1";
    for (int i = 0; i < 150; ++i) sum += " + 1";
    CHECK(error(sum).message == "the expression nests deeper than 100 levels");
    parse(std::string(50, '(') + "1" + std::string(50, ')'));
    std::string wide = "1";
    for (int i = 0; i < 16; ++i) wide = "(" + wide + " + " + wide + ")";  // depth grows by one a step, the size doubles
    CHECK(error(wide).message == "the expression has more than 10000 terms");
}
