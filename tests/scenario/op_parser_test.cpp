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
