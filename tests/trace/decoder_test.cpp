// Records decoded once: each kind, written through a real ring and merged as
// a run's are, comes out as its typed event, with names resolved; and the
// formatters (trace line, timeline text) read those events.
#include "trace/decoder.hpp"

#include "../test_support.hpp"
#include "report/jsonl_writer.hpp"
#include "report/timeline.hpp"
#include "trace/call_record.hpp"
#include "trace/collector.hpp"

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/sem.h>

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <vector>

using namespace simrun;

namespace {

const char* kScenario = R"(
[scenario]
name = "dec"
[ipc.sem.lock]
members = { mutex = 1, other = 0 }
[ipc.shm.buf]
cells = { count = 0 }
[[process]]
name = "worker"
run = ["P lock.mutex", "buf.count += 1", "V lock.mutex"]
[[process]]
name = "student"
exec = ["./a.out"]
)";

struct Collected : EventSink {
    std::vector<std::string> kinds;  // the variant's alternative, by index
    std::vector<Event> copies;       // (names and views point into the decoder and the merge: only scalars are read after)
    std::vector<std::string> text;   // describe_event at delivery
    std::vector<std::string> calls;  // describe_call at delivery
    std::vector<std::string> names;  // the process's name at delivery
    std::vector<std::string> json;   // append_call_json at delivery
    const Plan* plan;
    void on_event(const Event& e) override {
        copies.push_back(e);
        names.push_back(e.proc.name ? *e.proc.name : "");
        text.push_back(describe_event(*plan, e));
        if (const auto* c = std::get_if<ev::Call>(&e.body)) {
            calls.push_back(describe_call(*c));
            json.emplace_back();
            append_call_json(json.back(), *c);
        }
    }
};

// Writes records into the rings as the agent, the preload and the
// supervisor do, merges them, and decodes every one.
struct Pipeline {
    Plan plan = test::plan_of(kScenario);
    Arena arena = std::move(Arena::create(2, 64, 2).value());
    RingWriter worker = arena.writer(0, -1), student = arena.writer(1, -1), sup = arena.writer(arena.supervisor_ring(), -1);
    std::uint64_t ts = 1000;

    Record& put(RingWriter& w, EventKind kind, std::uint16_t proc, std::uint8_t flags = 0) {
        Record& r = w.begin(kind, proc, flags);
        r.ts = ts++;
        r.e.step = kNoStep;
        return r;
    }
    // As the preload writes it (trace/call_record.hpp), data and all.
    void call(CallId c, std::int64_t arg, std::int64_t value, std::int64_t step, std::int64_t result, int err = 0,
              const void* data = nullptr, std::size_t n = 0) {
        write_call_record(student, 1, 4242, c, {arg, value, step}, result, err, ts++, data, n);
    }

    Collected run(EventSink* also = nullptr) {
        auto collector = Collector::create(arena, "/tmp");
        REQUIRE(collector.ok());
        REQUIRE(collector->drain().ok());
        SysvNames names;
        names.sets = {{7, "lock"}};
        names.queues = {{9, "requests"}};
        Decoder decoder(plan, names, {7});
        Collected out;
        out.plan = &plan;
        decoder.add_sink(out);
        if (also) decoder.add_sink(*also);
        REQUIRE(collector->merge([&](const Record& r, std::string_view p) { decoder.on_record(r, p); }).ok());
        CHECK(decoder.events() == out.copies.size());
        return out;
    }
};

}  // namespace

TEST_CASE("scripted ops, lifecycle and supervisor records decode to their typed events") {
    Pipeline p;
    p.put(p.sup, EventKind::RunStart, kRunProc);
    p.sup.commit();
    Record& spawn = p.put(p.sup, EventKind::Spawn, 0);
    spawn.e.pid = 100, spawn.e.arg = 1;
    p.sup.commit();
    Record& park = p.put(p.worker, EventKind::Block, 0);
    park.e.op = 0;
    p.worker.commit();
    Record& done = p.put(p.worker, EventKind::Op, 0, kRecBlocked);
    done.e.op = 0, done.e.result = 0;
    p.worker.commit();
    Record& load = p.put(p.worker, EventKind::Op, 0, kRecValue | kRecLoadStep);
    load.e.op = 1, load.e.value = 0;
    p.worker.commit();
    Record& store = p.put(p.worker, EventKind::Op, 0, kRecValue | kRecStoreStep);
    store.e.op = 1, store.e.value = 1;
    p.worker.commit();
    Record& sig = p.put(p.worker, EventKind::Signal, 0);
    sig.e.arg = SIGUSR1, sig.e.pid = 55, sig.e.result = SI_QUEUE, sig.e.value = 7;
    p.worker.commit();
    Record& fault = p.put(p.sup, EventKind::Fault, 0);
    fault.e.arg = SIGKILL;
    p.sup.commit();
    Record& exit = p.put(p.sup, EventKind::Exit, 0);
    exit.e.pid = 100, exit.e.arg = WaitStatus::killed_by(SIGKILL).raw();
    p.sup.commit();
    Record& out = p.put(p.sup, EventKind::Output, 1, kRecStderr);
    (void)out;
    p.sup.commit();
    p.sup.data("oops\n", 5, 1);

    RunResult end;
    const std::string path = "/tmp/simrun-decoder-test-" + std::to_string(getpid()) + ".jsonl";
    auto writer = JsonlWriter::open(path, p.plan, end);
    REQUIRE(writer.ok());
    Collected c = p.run(writer->get());
    // The trace file's lines for the same events, golden.
    std::vector<std::string> lines;
    {
        std::FILE* f = std::fopen(path.c_str(), "r");
        REQUIRE(f);
        REQUIRE((*writer)->finish(end).ok());
        char buf[4096];
        while (std::fgets(buf, sizeof buf, f)) {
            std::string l = buf;  // without its time, which depends on the clock's stamps
            if (auto t = l.find(",\"t\":"); t != std::string::npos) l.erase(t, l.find(',', t + 1) - t);
            lines.push_back(l);
        }
        std::fclose(f);
        std::remove(path.c_str());
    }
    REQUIRE(lines.size() == 11);  // run_start, 9 events (RunStart is the file's head), run_end
    CHECK(lines[1] == "{\"kind\":\"spawn\",\"seq\":1,\"proc\":\"worker\",\"pid\":100,\"parent\":\"supervisor\",\"parent_pid\":1}\n");
    CHECK(lines[2] == "{\"kind\":\"block\",\"seq\":2,\"proc\":\"worker\",\"op\":\"P\",\"obj\":\"lock.mutex\",\"sem\":[{\"member\":\"mutex\",\"delta\":-1}],\"undo\":false,\"nowait\":false,\"value\":1,\"iter\":0,\"op_index\":0}\n");
    CHECK(lines[7] == "{\"kind\":\"fault\",\"seq\":7,\"proc\":\"worker\",\"signal\":\"SIGKILL\"}\n");
    CHECK(lines[8] == "{\"kind\":\"exit\",\"seq\":8,\"proc\":\"worker\",\"pid\":100,\"signal\":\"SIGKILL\",\"core\":false}\n");
    CHECK(lines[9] == "{\"kind\":\"output\",\"seq\":9,\"proc\":\"student\",\"stream\":\"stderr\",\"data\":\"oops\\n\"}\n");
    // The worker's P parked and woke; its SEM_UNDO-less exit: no undo events.
    REQUIRE(c.copies.size() == 10);
    CHECK(std::holds_alternative<ev::RunStart>(c.copies[0].body));
    const auto& s = std::get<ev::Spawn>(c.copies[1].body);
    CHECK(s.pid == 100);
    CHECK(s.parent_pid == 1);
    CHECK(c.names[1] == "worker");
    CHECK(c.copies[1].proc.column == 0);
    const auto& parked = std::get<ev::ScriptOp>(c.copies[2].body);
    CHECK(parked.parked);
    CHECK(parked.value == 1);  // replayed: the value it waits on
    CHECK(c.text[2] == "P lock.mutex ⏸ (value 1)");
    const auto& woke = std::get<ev::ScriptOp>(c.copies[3].body);
    CHECK_FALSE(woke.parked);
    CHECK(woke.woke);
    CHECK(woke.value == 0);  // the replayed value of mutex after the P
    CHECK(c.text[3] == "P lock.mutex → 0 (woke)");
    CHECK(std::get<ev::ScriptOp>(c.copies[4].body).half == ev::ScriptOp::Half::Load);
    CHECK(c.text[4] == "buf.count read 0");
    CHECK(c.text[5] == "buf.count ← 1");
    const auto& handled = std::get<ev::Signal>(c.copies[6].body);
    CHECK(handled.signal == SIGUSR1);
    CHECK(handled.value == 7);
    CHECK(c.text[6] == "⚑ SIGUSR1 from pid 55 value 7");
    CHECK(c.text[7] == "⚡ SIGKILL");
    const auto& ended = std::get<ev::Exit>(c.copies[8].body);
    CHECK(ended.status == WaitStatus::killed_by(SIGKILL));
    CHECK_FALSE(ended.reaped_stray);
    CHECK(c.text[8] == "killed by SIGKILL");
    const auto& o = std::get<ev::Output>(c.copies[9].body);
    CHECK(o.stderr);
    CHECK(c.text[9] == "stderr \"oops\\n\"");
}

TEST_CASE("a program's calls decode to typed arguments, named after the run's objects, and read the same in every output") {
    Pipeline p;
    p.put(p.sup, EventKind::RunStart, kRunProc);
    p.sup.commit();
    p.call(CallId::Semget, 1234, 2, IPC_CREAT | 0600, 7);
    p.call(CallId::Semop, 7, 1, static_cast<std::int64_t>(pack_sembuf(0, -1, SEM_UNDO)), 0);  // one sembuf, packed
    sembuf two[2] = {{1, 1, 0}, {0, 1, SEM_UNDO}};
    p.call(CallId::Semop, 7, 2, 0, 0, 0, reinterpret_cast<const char*>(two), sizeof two);  // two: as Data
    p.call(CallId::Msgrcv, 9, 0, 3, 5, 0, "hello", 5);  // msgtyp 0, got type 3
    p.call(CallId::Sigaction, 0, SIGUSR1, static_cast<std::int64_t>(Disposition::Ignore), 0);
    p.call(CallId::Wait, -1, WaitStatus::exited_with(3).raw(), 0, 4343);
    p.call(CallId::Sigqueue, 4343, SIGUSR2, 99, -1, ESRCH);
    p.call(CallId::Fork, -1, kForkSystem, 0, WaitStatus::exited_with(0).raw(), 0, "ls", 2);
    p.call(CallId::Longjmp, 1, 2, static_cast<std::int64_t>(CallId::Semop) + 1, 0);

    Collected c = p.run();
    REQUIRE(c.calls.size() == 9);
    const auto& get = std::get<call::IpcGet>(std::get<ev::Call>(c.copies[1].body).args);
    CHECK(get.key == 1234);
    CHECK(get.size == 2);
    CHECK(c.calls[0] == "semget(1234) → 7");

    CHECK(c.calls[1] == "semop(lock: 0 -1 undo) → 0");
    CHECK(c.json[1] == R"(,"call":"semop","semid":7,"obj":"lock","sops":[{"num":0,"op":-1,"undo":true,"nowait":false}])");
    CHECK(c.calls[2] == "semop(lock: 1 +1 0 +1 undo) → 0");
    CHECK(std::get<call::Semop>(std::get<ev::Call>(c.copies[3].body).args).sops.size() == 2);
    // The program's semops move the replayed values of the declared set.
    CHECK(c.calls[3] == "msgrcv(requests, type 3, \"hello\") → 5");
    CHECK(c.json[3] == R"(,"call":"msgrcv","msqid":9,"type":0,"obj":"requests","got_type":3,"text":"hello")");
    // One word for a disposition: the scenario's, in the trace and on the timeline.
    CHECK(std::get<call::Sigaction>(std::get<ev::Call>(c.copies[5].body).args).disposition == Disposition::Ignore);
    CHECK(c.calls[4] == "sigaction(SIGUSR1, ignore) → 0");
    CHECK(c.json[4] == R"(,"call":"sigaction","signal":"SIGUSR1","handler":"ignore")");
    CHECK(c.calls[5] == "wait → pid 4343 exited 3");
    CHECK(std::get<call::Wait>(std::get<ev::Call>(c.copies[6].body).args).status == WaitStatus::exited_with(3));
    CHECK(c.calls[6] == "sigqueue(4343, SIGUSR2) ✘ ESRCH");
    CHECK(std::get<call::SendSignal>(std::get<ev::Call>(c.copies[7].body).args).value == 99);
    CHECK(c.calls[7] == "system(\"ls\") → exited 0");
    CHECK(c.calls[8] == "longjmp(1) out of 2 handlers · semop abandoned");
    CHECK(c.names[1] == "student");
}

TEST_CASE("children of a traced program are named by the decoder for every output") {
    Pipeline p;
    p.put(p.sup, EventKind::RunStart, kRunProc);
    p.sup.commit();
    p.call(CallId::Fork, 2, kForkFork, 0, 5000);  // into spare slot 2
    RingWriter child = p.arena.writer(2, -1);
    Record& r = p.put(child, EventKind::Call, 2);
    r.e.op = static_cast<std::uint32_t>(CallId::Exit);
    r.e.value = 0;
    child.commit();
    Collected c = p.run();
    REQUIRE(c.copies.size() == 3);
    CHECK(c.names[2] == "student/1");
    CHECK(c.copies[2].proc.column == 1);  // the student's column
    CHECK(c.calls[1] == "exit(0)");
}

TEST_CASE("the other record kinds: exec, exec failed, zombie, orphan, reaped, run end, and the SEM_UNDO an exit causes") {
    const Plan plan = test::plan_of(R"(
[scenario]
name = "kinds"
[ipc.sem.held]
members = { m = 1 }
undo = true
[[process]]
name = "holder"
run = ["P held.m", "sleep 1s"]
[[process]]
name = "student"
exec = ["./a.out"]
)");
    Arena arena = std::move(Arena::create(2, 64, 1).value());
    RingWriter holder = arena.writer(0, -1), sup = arena.writer(arena.supervisor_ring(), -1);
    std::uint64_t ts = 1000;
    auto put = [&](RingWriter& w, EventKind kind, std::uint16_t proc, std::uint8_t flags = 0) -> Record& {
        Record& r = w.begin(kind, proc, flags);
        r.ts = ts++;
        r.e.step = kNoStep;
        return r;
    };
    put(sup, EventKind::RunStart, kRunProc);
    sup.commit();
    put(holder, EventKind::Op, 0, kRecValue).e.op = 0;  // P held.m → 0, with SEM_UNDO
    holder.commit();
    put(sup, EventKind::Exec, 1).e.pid = 201;
    sup.commit();
    Record& failed = put(sup, EventKind::ExecFailed, 1);
    failed.e.pid = 201, failed.e.err = ENOENT;
    sup.commit();
    put(sup, EventKind::Zombie, 0).e.pid = 200;
    sup.commit();
    Record& orphan = put(sup, EventKind::Orphan, 1);
    orphan.e.pid = 201, orphan.e.arg = 1;
    sup.commit();
    Record& reaped = put(sup, EventKind::Reaped, 2);
    reaped.e.pid = 300, reaped.e.arg = WaitStatus::exited_with(0).raw();
    sup.commit();
    Record& killed = put(sup, EventKind::Exit, 0);
    killed.e.pid = 200, killed.e.arg = WaitStatus::killed_by(SIGKILL).raw();
    sup.commit();
    put(sup, EventKind::RunEnd, kRunProc);
    sup.commit();

    auto collector = Collector::create(arena, "/tmp");
    REQUIRE(collector.ok());
    REQUIRE(collector->drain().ok());
    Decoder decoder(plan, {}, {7});
    Collected c;
    c.plan = &plan;
    decoder.add_sink(c);
    REQUIRE(collector->merge([&](const Record& r, std::string_view p) { decoder.on_record(r, p); }).ok());
    REQUIRE(c.copies.size() == 10);
    CHECK(std::get<ev::ScriptOp>(c.copies[1].body).value == 0);
    CHECK(std::get<ev::Exec>(c.copies[2].body).pid == 201);
    CHECK(std::get<ev::ExecFailed>(c.copies[3].body).err == ENOENT);
    CHECK(c.text[3] == "exec failed: ENOENT");
    CHECK(std::get<ev::Zombie>(c.copies[4].body).pid == 200);
    CHECK(std::get<ev::Orphan>(c.copies[5].body).new_parent_pid == 1);
    const auto& stray = std::get<ev::Exit>(c.copies[6].body);
    CHECK(stray.reaped_stray);
    CHECK(stray.status == WaitStatus::exited_with(0));
    CHECK(std::get<ev::Exit>(c.copies[7].body).status == WaitStatus::killed_by(SIGKILL));
    // The holder died holding held.m with SEM_UNDO: the kernel gave it back.
    const auto& undo = std::get<ev::Undo>(c.copies[8].body);
    CHECK(undo.sem == 0);
    CHECK(undo.before == 0);
    CHECK(undo.after == 1);
    CHECK(decoder.sem_values() == std::vector<int>{1});
    CHECK(std::holds_alternative<ev::RunEnd>(c.copies[9].body));
}
