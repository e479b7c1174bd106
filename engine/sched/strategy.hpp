// Scheduling strategies for controlled mode: given the processes that can
// take a step, pick one. Each is a pure function of its seed and the
// sequence of calls, so a run is a function of scenario + seed.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace simrun {

// splitmix64: small, fast, and the same sequence on every machine.
class Rng {
public:
    explicit Rng(std::uint64_t seed) : s_(seed) {}
    std::uint64_t next() {
        std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    std::uint64_t below(std::uint64_t n) { return next() % n; }

private:
    std::uint64_t s_;
};

class Strategy {
public:
    virtual ~Strategy() = default;
    // runnable: process indices in increasing order, never empty. Returns one of them.
    virtual int pick(const std::vector<int>& runnable, std::uint64_t step) = 0;
    // Process p's step was a sleep: in real time the others would have run
    // meanwhile. PCT lets them (p drops below every other priority); a
    // retry loop around a sleep cannot starve the process it waits for.
    virtual void slept(int /*p*/) {}
    // A copy in the same state: the controller asks it what the next picks
    // would be (a run of steps granted at once), then the strategy itself
    // picks them, so a run is the same function of the seed either way.
    virtual std::unique_ptr<Strategy> clone() const = 0;
};

enum class StrategyKind { Random, Pct, RoundRobin, Replay };

struct StrategyConfig {
    StrategyKind kind = StrategyKind::Random;
    std::uint64_t seed = 0;
    int depth = 3;                         // PCT: d, so d-1 priority change points
    std::uint64_t expected_steps = 1000;   // PCT: k, where the change points fall
    int processes = 0;
    std::vector<int> replay;               // Replay: the process of each step
};

std::unique_ptr<Strategy> make_strategy(const StrategyConfig& config);
const char* strategy_name(StrategyKind kind);
std::optional<StrategyKind> parse_strategy(const std::string& name);

}  // namespace simrun
