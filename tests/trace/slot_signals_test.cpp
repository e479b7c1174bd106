// What a sender announces from the dispositions and mask a process published
// (controlled mode's settling of signals), and what a handler run counts.
#include "trace/slot_signals.hpp"

#include <doctest/doctest.h>

#include <memory>

using namespace simrun;

namespace {
std::unique_ptr<ProcSlot> fresh_slot() {
    auto s = std::make_unique<ProcSlot>();
    s->blocked = 0, s->sig_handlers = 0, s->sig_ignored = 0, s->sig_ending = 0, s->sig_known = 0;
    s->sig_expected = 0, s->sig_settled = 0, s->sig_handled = 0, s->doomed = 0;
    return s;
}
}  // namespace

TEST_CASE("a handler run is expected, a default fatal signal dooms, blocked and ignored ones do nothing") {
    auto s = fresh_slot();
    publish_dispositions(*s, sig_bit(SIGUSR1) | sig_bit(SIGTERM), sig_bit(SIGUSR2), sig_bit(SIGTERM));
    announce_signal(*s, SIGUSR1);
    CHECK(s->sig_expected == 1);
    CHECK(s->doomed == 0);
    announce_signal(*s, SIGUSR2);  // ignored
    announce_signal(*s, SIGCHLD);  // default: ignored
    announce_signal(*s, SIGSTOP);  // stops, does not end it
    CHECK(s->sig_expected == 1);
    CHECK(s->doomed == 0);
    s->blocked = sig_bit(SIGUSR1) | sig_bit(SIGINT);
    announce_signal(*s, SIGUSR1);  // stays pending
    announce_signal(*s, SIGINT);
    CHECK(s->sig_expected == 1);
    CHECK(s->doomed == 0);
    announce_signal(*s, SIGTERM);  // a handler that then ends the process
    CHECK(s->sig_expected == 2);
    CHECK(s->doomed == 1);
}

TEST_CASE("default fatal signals and SIGKILL doom; nothing is announced to a process that published nothing") {
    auto s = fresh_slot();
    announce_signal(*s, SIGUSR1);
    CHECK(s->doomed == 0);
    CHECK(s->sig_expected == 0);
    announce_signal(*s, SIGKILL);  // whatever it published
    CHECK(s->doomed == 1);
    auto t = fresh_slot();
    publish_dispositions(*t, 0, 0, 0);
    t->blocked = sig_bit(SIGKILL);  // cannot be blocked
    announce_signal(*t, SIGKILL);
    CHECK(t->doomed == 1);
    auto u = fresh_slot();
    publish_dispositions(*u, 0, 0, 0);
    announce_signal(*u, SIGRTMIN + 1);
    CHECK(u->doomed == 1);
}

TEST_CASE("one disposition changes; a handler run counts as settled only for a signal a process sent") {
    auto s = fresh_slot();
    publish_dispositions(*s, sig_bit(SIGUSR1), 0, sig_bit(SIGUSR1));
    publish_disposition(*s, SIGUSR1, false, true);  // now ignored
    CHECK(s->sig_handlers == 0);
    CHECK(s->sig_ignored == sig_bit(SIGUSR1));
    CHECK(s->sig_ending == 0);
    announce_signal(*s, SIGUSR1);
    CHECK(s->sig_expected == 0);
    publish_disposition(*s, SIGUSR1, true, false);
    announce_signal(*s, SIGUSR1);
    CHECK(s->sig_expected == 1);
    siginfo_t sent = {}, kernel = {};
    sent.si_code = SI_USER;
    kernel.si_code = CLD_EXITED;
    count_handler_run(*s, &kernel);
    CHECK(s->sig_handled == 1);
    CHECK(s->sig_settled == 0);
    count_handler_run(*s, &sent);
    CHECK(s->sig_handled == 2);
    CHECK(s->sig_settled == 1);
}
