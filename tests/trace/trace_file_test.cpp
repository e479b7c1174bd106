// trace.simrun: a saved run written and read back, whole and cut short, and
// what a reader refuses.
#include "trace/trace_file.hpp"

#include "../test_support.hpp"
#include "trace/decoder.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

using namespace simrun;

namespace {

struct TempFile {
    std::string path;
    TempFile() {
        char name[] = "/tmp/trace-file-test-XXXXXX";
        int fd = ::mkstemp(name);
        REQUIRE(fd >= 0);
        ::close(fd);
        path = name;
    }
    ~TempFile() { ::unlink(path.c_str()); }
    std::string bytes() const {
        std::ifstream f(path, std::ios::binary);
        std::stringstream s;
        s << f.rdbuf();
        return s.str();
    }
    void write(const std::string& b) const { std::ofstream(path, std::ios::binary | std::ios::trunc) << b; }
};

Record rec(EventKind kind, std::uint16_t proc, std::uint64_t ts, std::uint32_t op = 0) {
    Record r{};
    r.kind = kind, r.proc = proc, r.ts = ts;
    r.e.op = op, r.e.step = kNoStep;
    return r;
}

TraceMeta meta() {
    TraceMeta m;
    m.path = "x.toml", m.source = "[scenario]\nname = \"x\"\n", m.controlled = true, m.t0 = 123456789;
    m.names.sets = {{7, "lock"}}, m.names.queues = {{9, "q \"quoted\""}};
    m.semids = {7, -1};
    m.start_line = R"({"kind":"run_start"})";
    return m;
}

std::vector<std::pair<Record, std::string>> read_all(TraceFileReader& r) {
    std::vector<std::pair<Record, std::string>> out;
    r.records([&](const Record& rec, std::string_view p) { out.emplace_back(rec, std::string(p)); });
    return out;
}

}  // namespace

TEST_CASE("a saved run reads back as it was written: header, records with payloads, tail") {
    TempFile f;
    auto w = TraceFileWriter::open(f.path, meta());
    REQUIRE(w.ok());
    (*w)->record(rec(EventKind::Spawn, 0, 10), {});
    (*w)->record(rec(EventKind::Output, 0, 11), std::string("hello\0world", 11));
    (*w)->record(rec(EventKind::Exit, 0, 12), {});
    REQUIRE((*w)->finish({R"({"kind":"expect"})", R"({"kind":"run_end"})"}, "digraph {}").ok());
    auto r = TraceFileReader::open(f.path);
    REQUIRE(r.ok());
    CHECK(r->meta().path == "x.toml");
    CHECK(r->meta().source == meta().source);
    CHECK(r->meta().controlled);
    CHECK(r->meta().t0 == 123456789);
    CHECK(r->meta().names.queues == meta().names.queues);
    CHECK(r->meta().semids == std::vector<int>{7, -1});
    auto got = read_all(*r);
    REQUIRE(got.size() == 3);
    CHECK(got[1].first.kind == EventKind::Output);
    CHECK(got[1].second == std::string("hello\0world", 11));
    CHECK(got[2].first.ts == 12);
    CHECK(r->cut().empty());
    CHECK(r->tail() == std::vector<std::string>{R"({"kind":"expect"})", R"({"kind":"run_end"})"});
    CHECK(r->deadlock_dot() == "digraph {}");
    CHECK(read_all(*r).size() == 3);  // and again, from the start
}

TEST_CASE("a saved run cut short is read to its last whole record, and says so") {
    TempFile f;
    auto w = TraceFileWriter::open(f.path, meta());
    REQUIRE(w.ok());
    for (int i = 0; i < 10; ++i) (*w)->record(rec(EventKind::Spawn, 0, 100 + i), {});
    REQUIRE((*w)->finish({"{}"}).ok());
    const std::string whole = f.bytes();
    SUBCASE("in its records") {
        f.write(whole.substr(0, whole.size() - 30 - 68 * 3 - 20));  // the tail, and three and a bit records, gone
        auto r = TraceFileReader::open(f.path);
        REQUIRE(r.ok());
        CHECK(read_all(*r).size() == 6);
        CHECK(r->cut().find("it stops after record 6") != std::string::npos);
        CHECK(r->tail().empty());
    }
    SUBCASE("before the run ended (the length never patched)") {
        TempFile g;
        auto w2 = TraceFileWriter::open(g.path, meta());
        REQUIRE(w2.ok());
        for (int i = 0; i < 4; ++i) (*w2)->record(rec(EventKind::Spawn, 0, 100 + i), {});
        w2->reset();  // destroyed without finish(): what a killed simrun leaves (its buffer written or not)
        auto r = TraceFileReader::open(g.path);
        REQUIRE(r.ok());
        CHECK(read_all(*r).size() <= 4);
        CHECK(!r->cut().empty());
    }
}

TEST_CASE("what is not a saved run of this version is refused with what is wrong") {
    TempFile f;
    f.write("[scenario]\n");
    CHECK(TraceFileReader::open(f.path).error().find("not a saved simrun run") != std::string::npos);
    f.write(std::string("SIMRUNTR\x02\0\0\0\0\0\0\0", 16));
    CHECK(TraceFileReader::open(f.path).error().find("format version 2; this simrun reads version 1") != std::string::npos);
    f.write(std::string("SIMRUNTR\x01\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0\xff\xff\xff\xff\0\0\0\0", 32));
    CHECK(TraceFileReader::open(f.path).error().find("its header is damaged") != std::string::npos);
    CHECK(TraceFileReader::open("/nonexistent/trace.simrun").error().find("No such file") != std::string::npos);
    CHECK(TraceFileReader::open("/tmp").error().find("not a regular file") != std::string::npos);
}

TEST_CASE("the decoder skips and counts records that are not what they claim") {
    const Plan plan = test::plan_of(R"(
[scenario]
name = "d"
[ipc.shm.buf]
cells = { x = 0 }
[[process]]
name = "w"
run = ["buf.x = 1"]
)");
    struct Count : EventSink {
        int n = 0;
        void on_event(const Event&) override { ++n; }
    } count;
    Decoder decoder(plan, {}, {});
    decoder.add_sink(count);
    decoder.on_record(rec(EventKind::Op, 0, 1, 0), {});        // its one op: decoded
    decoder.on_record(rec(EventKind::Reaped, kRunProc, 1), {});  // a stray the supervisor reaped: decoded
    decoder.on_record(rec(EventKind::Op, 0, 2, 99), {});       // an op it does not have
    decoder.on_record(rec(EventKind::Op, 5, 3, 0), {});        // a process the plan does not have
    decoder.on_record(rec(EventKind::Exec, 0, 4), {});         // exec of a scripted process
    decoder.on_record(rec(EventKind::Undo, 0, 5), {});         // undo is derived, never recorded
    decoder.on_record(rec(static_cast<EventKind>(200), 0, 6), {});  // no such kind
    Record call = rec(EventKind::Call, 1, 7, 9999);            // no such call
    decoder.on_record(call, {});
    CHECK(count.n == 2);
    CHECK(decoder.damaged() == 6);
}
