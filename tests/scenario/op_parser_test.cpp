#include "scenario/op_parser.hpp"

#include <doctest/doctest.h>

using namespace simrun;

namespace {
OpDecl op(const std::string& text) {
    OpDecl o;
    TextError err;
    REQUIRE_MESSAGE(parse_op(text, o, err), err.message);
    return o;
}
TextError error(const std::string& text) {
    OpDecl o;
    TextError err;
    CHECK_FALSE(parse_op(text, o, err));
    return err;
}
}  // namespace

TEST_CASE("P and V with counts and flags") {
    auto p = op("P slots.empty");
    CHECK(p.kind == OpKind::Semop);
    REQUIRE(p.sems.size() == 1);
    CHECK(p.sems[0].ref.object == "slots");
    CHECK(p.sems[0].ref.member == "empty");
    CHECK(p.sems[0].delta == -1);
    CHECK_FALSE(p.undo.has_value());
    auto v = op("V lock.m 3 undo nowait");
    CHECK(v.sems[0].delta == 3);
    CHECK(v.undo == true);
    CHECK(v.nowait);
    CHECK(op("P a.b noundo").undo == false);
}

TEST_CASE("multi-member semop") {
    auto s = op("semop s.a -1, s.b +2, s.c 0 undo");
    REQUIRE(s.sems.size() == 3);
    CHECK(s.sems[0].delta == -1);
    CHECK(s.sems[1].delta == 2);
    CHECK(s.sems[2].delta == 0);
    CHECK(s.sems[1].ref.offset == 14);
    CHECK(error("semop s.a").message == "expected a signed amount after s.a (e.g. -1, +1, 0)");
    CHECK(error("semop").message == "expected 'semop set.member amount, ...'");
}

TEST_CASE("shared memory ops") {
    auto add = op("buf.count += 1");
    CHECK(add.kind == OpKind::ShmAdd);
    CHECK(add.value == 1);
    CHECK_FALSE(add.atomic);
    CHECK(op("buf.count -= 2 atomic").value == -2);
    CHECK(op("buf.count -= 2 atomic").atomic);
    auto st = op("buf.items[3] = -7");
    CHECK(st.kind == OpKind::ShmStore);
    CHECK(st.target.index == 3);
    CHECK(st.value == -7);
    CHECK(op("load buf.count").kind == OpKind::ShmLoad);
    CHECK(error("buf.count = 1 atomic").message == "unexpected 'atomic'");
    CHECK(error("buf.items[x] = 1").offset == 10);
}

TEST_CASE("pipe, sleep, print and exit ops") {
    auto w = op(R"(write data "a \"b\"\n")");
    CHECK(w.kind == OpKind::PipeWrite);
    CHECK(w.data == "a \"b\"\n");
    CHECK(op("read data").value == 4096);
    CHECK(op("read data 10").value == 10);
    CHECK(op("read data all").read_all);
    CHECK(op("close data").kind == OpKind::PipeClose);
    CHECK(op("sleep 250ms").sleep_ns == 250'000'000);
    CHECK(op("print \"hi\"").data == "hi");
    CHECK(op("exit 3").value == 3);
    CHECK(error("read data 0").message == "expected a byte count from 1 to 65536 or 'all'");
    CHECK(error(R"(write data "x\q")").message == "unknown escape '\\q'");
    CHECK(error("exit").message == "missing operand (usage: exit CODE)");
    CHECK(error("close a b").message == "unexpected 'b' (usage: close PIPE)");
}

TEST_CASE("control words: if, while, else, end, repeat, break") {
    auto i = op("if room.readcount == 1 and not room.busy");
    CHECK(i.control == Control::If);
    CHECK(i.cond_offset == 3);
    CHECK(i.cond.nodes[static_cast<std::size_t>(i.cond.root)].op == ExprOp::And);
    auto w = op("while flag.other == 1 && turn.who == other");
    CHECK(w.control == Control::While);
    bool var = false;
    for (const auto& n : w.cond.nodes) var = var || (n.op == ExprOp::Var && n.object == "other");
    CHECK(var);  // a bare name is a value
    CHECK(op("else").control == Control::Else);
    CHECK(op("  end").control == Control::End);
    CHECK(op("break").control == Control::Break);
    auto r = op("repeat 5");
    CHECK(r.control == Control::Repeat);
    CHECK(r.value == 5);
    CHECK(error("if").message == "expected a condition after 'if'");
    CHECK(error("else now").message.find("else") != std::string::npos);
    CHECK(error("repeat -1").message == "repeat takes a count from 0 to 1000000000");
}

TEST_CASE("'as NAME' binds what an op gives") {
    auto r = op("recv requests as req");
    CHECK(r.kind == OpKind::MsgRecv);
    CHECK(r.bind == "req");
    CHECK(r.bind_offset == 17);
    auto w = op("wait child as st");
    CHECK(w.bind == "st");
    auto p = op("P sem.x nowait as ok");
    CHECK(p.nowait);
    CHECK(p.bind == "ok");
    CHECK(error("load m.x as i").message == "'i' is the replica's own index; bind another name");
    CHECK(error("load m.x as 9").message.find("as") != std::string::npos);
}

TEST_CASE("a text with {values} is cut into literal parts and values") {
    auto s = op("send q 1 \"got {n} bytes, {n * 2} in all\"");
    REQUIRE(s.text_parts.size() == 3);
    CHECK(s.text_parts[0].literal == "got ");
    REQUIRE(s.text_parts[0].value.has_value());
    CHECK(s.text_parts[0].value->offset == 14);
    CHECK(s.text_parts[1].literal == " bytes, ");
    CHECK(s.text_parts[2].literal == " in all");
    CHECK_FALSE(s.text_parts[2].value.has_value());
    CHECK(op("print \"plain\"").text_parts.empty());
    CHECK(error("print \"a {1 +}\"").message == "expression ends too early");
}

TEST_CASE("a {value} computed at run time in a send's type and a store") {
    auto s = op("send replies {req.type + 100} \"done\"");
    REQUIRE(s.value_expr.has_value());
    CHECK(s.value_expr->offset == 13);
    CHECK(s.data == "done");
    auto st = op("buf.last = {v * 2}");
    CHECK(st.kind == OpKind::ShmStore);
    REQUIRE(st.value_expr.has_value());
}

TEST_CASE("replica expansion: {i}, {n} and constant expressions, offsets kept") {
    std::string out;
    std::vector<std::uint32_t> origin;
    TextError err;
    REQUIRE(expand_replica("P forks.f{(i + 1) % n}", 4, 5, out, origin, err));
    CHECK(out == "P forks.f0");
    REQUIRE(origin.size() == out.size() + 1);
    CHECK(origin[2] == 2);   // 'f' of forks
    CHECK(origin[9] == 9);   // the value stands where its '{' was
    CHECK(origin[10] == 22);  // one past the end: one past the '}'
    REQUIRE(expand_replica("send q {req.type + i} \"n{n}\"", 2, 3, out, origin, err));
    CHECK(out == "send q {req.type + i} \"n3\"");  // a run-time value stays for the op parser (its i is read by the compiler)
    CHECK(has_replica_values("m.f[{i}] = 1"));
    CHECK_FALSE(has_replica_values("m.f[0] = 1"));
    CHECK_FALSE(expand_replica("m.x = {i", 0, 1, out, origin, err));
    CHECK(err.message == "unterminated '{': a value is written {expression}, e.g. forks.f{(i + 1) % n}");
    CHECK(err.offset == 6);
    REQUIRE(expand_replica("print \"got {r} of {n}\"", 0, 2, out, origin, err));
    CHECK(out == "print \"got {r} of 2\"");  // a run-time value in a text stays for the op parser
}
