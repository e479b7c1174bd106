// The park/retry rules of controlled runs (run/parking.hpp).
#include "run/parking.hpp"

#include <doctest/doctest.h>

using namespace simrun;

TEST_CASE("parking: a blocked call waits until some other step changes something") {
    Parking k;
    k.after_step(0, StepOutcome::Blocked);
    CHECK(k.parked(0));
    CHECK(k.waiting(0));
    k.after_step(1, StepOutcome::Blocked);  // another process blocking changes nothing
    CHECK(k.waiting(0));
    k.after_step(1, StepOutcome::Done);  // its V, its write, its kill: 0 may try again
    CHECK(k.parked(0));
    CHECK_FALSE(k.waiting(0));
    k.after_step(0, StepOutcome::Blocked);  // tried, still blocked: waits again
    CHECK(k.waiting(0));
}

TEST_CASE("parking: a child's step counts like any other (a parent parked in semop or wait is retried)") {
    Parking k;
    k.after_step(0, StepOutcome::Blocked);
    k.after_step(7, StepOutcome::Started);  // a child a program forked arrives: 0 tries again
    CHECK_FALSE(k.waiting(0));
    k.after_step(0, StepOutcome::Blocked);
    k.after_step(7, StepOutcome::Internal);
    CHECK_FALSE(k.waiting(0));
}

TEST_CASE("parking: a death, a fault or a signal outside the steps releases every parked process") {
    Parking k;
    k.after_step(0, StepOutcome::Blocked);
    k.after_step(2, StepOutcome::Blocked);
    k.changed();
    CHECK_FALSE(k.waiting(0));
    CHECK_FALSE(k.waiting(2));
}

TEST_CASE("parking: parking while changing what others wait on releases the others, not itself") {
    Parking k;
    k.after_step(0, StepOutcome::Blocked);
    k.after_step(1, StepOutcome::BlockedChanged);  // a FIFO writer now waits: a reader may open
    CHECK_FALSE(k.waiting(0));
    CHECK(k.waiting(1));
}

TEST_CASE("parking: an exiting step changes nothing until the death is seen; a completed call unparks") {
    Parking k;
    k.after_step(0, StepOutcome::Blocked);
    k.after_step(1, StepOutcome::Exiting);
    CHECK(k.waiting(0));
    k.changed();  // the death
    CHECK_FALSE(k.waiting(0));
    k.after_step(0, StepOutcome::Done);
    CHECK_FALSE(k.parked(0));
}

TEST_CASE("parking: a timed wait released by time moving on tries again, changed or not") {
    Parking k;
    k.after_step(3, StepOutcome::Blocked);
    CHECK(k.waiting(3));
    k.release(3);
    CHECK_FALSE(k.parked(3));
    CHECK_FALSE(k.waiting(3));
    CHECK_FALSE(k.parked(9));  // never seen
}
