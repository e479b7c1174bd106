#include "sched/strategy.hpp"

#include <algorithm>

namespace simrun {
namespace {

class RandomStrategy : public Strategy {
public:
    explicit RandomStrategy(std::uint64_t seed) : rng_(seed) {}
    int pick(const std::vector<int>& runnable, std::uint64_t) override { return runnable[rng_.below(runnable.size())]; }
    std::unique_ptr<Strategy> clone() const override { return std::make_unique<RandomStrategy>(*this); }

private:
    Rng rng_;
};

// The next process after the last one picked, in index order, wrapping.
class RoundRobin : public Strategy {
public:
    int pick(const std::vector<int>& runnable, std::uint64_t) override {
        auto next = std::upper_bound(runnable.begin(), runnable.end(), last_);
        last_ = next == runnable.end() ? runnable.front() : *next;
        return last_;
    }
    std::unique_ptr<Strategy> clone() const override { return std::make_unique<RoundRobin>(*this); }

private:
    int last_ = -1;
};

// PCT (Burckhardt et al., ASPLOS 2010): distinct random priorities; the
// highest-priority runnable process runs; at d-1 random steps the process
// about to run drops below every initial priority. Finds a bug of depth d
// with probability at least 1/(n k^(d-1)). A process that appears during
// the run (a child a program forked) gets a random place among the others'
// when it is first seen, drawn from the same seed.
class Pct : public Strategy {
public:
    static constexpr std::int64_t kSpread = 1 << 20;  // room between two initial priorities for newcomers

    Pct(const StrategyConfig& c) : rng_(c.seed), depth_(c.depth) {
        int n = std::max(c.processes, 1);
        priority_.resize(n);
        for (int i = 0; i < n; ++i) priority_[i] = (c.depth + i) * kSpread;  // above every change-point priority
        for (int i = n - 1; i > 0; --i) std::swap(priority_[i], priority_[rng_.below(i + 1)]);
        std::uint64_t k = std::max<std::uint64_t>(c.expected_steps, 1);
        for (int i = 1; i < c.depth; ++i) change_.push_back({rng_.below(k), c.depth - i});
    }

    int pick(const std::vector<int>& runnable, std::uint64_t step) override {
        for (int p : runnable) place(p);
        int best = top(runnable);
        for (const auto& [at, low] : change_)
            if (at == step) priority_[best] = low, best = top(runnable);
        return best;
    }

    std::unique_ptr<Strategy> clone() const override { return std::make_unique<Pct>(*this); }

    void slept(int p) override {
        place(p);
        std::int64_t lowest = priority_[p];
        for (std::int64_t q : priority_) lowest = std::min(lowest, q);
        if (priority_[p] != lowest || std::count(priority_.begin(), priority_.end(), lowest) > 1) priority_[p] = lowest - 1;
    }

private:
    // Newcomers, in the order they are first seen: a random rank above the
    // change points.
    void place(int p) {
        while (static_cast<int>(priority_.size()) <= p) {
            const auto n = static_cast<std::uint64_t>(priority_.size());
            priority_.push_back(depth_ * kSpread + static_cast<std::int64_t>(rng_.below(n * kSpread)) + 1);
        }
    }
    int top(const std::vector<int>& runnable) const {
        int best = runnable.front();
        for (int p : runnable)
            if (priority_[p] > priority_[best]) best = p;
        return best;
    }

    Rng rng_;
    std::int64_t depth_;
    std::vector<std::int64_t> priority_;
    std::vector<std::pair<std::uint64_t, int>> change_;  // (step, new priority)
};

// Follows a recorded schedule. Past its end, or where the recorded process
// cannot run, the process that took the last step goes on if it can (no
// preemption is added), else the lowest runnable index; the controller
// decides whether such a divergence is an error.
class Replay : public Strategy {
public:
    explicit Replay(std::vector<int> steps) : steps_(std::move(steps)) {}
    int pick(const std::vector<int>& runnable, std::uint64_t step) override {
        auto can = [&](int p) { return std::binary_search(runnable.begin(), runnable.end(), p); };
        if (step < steps_.size() && can(steps_[step])) return last_ = steps_[step];
        return last_ = (last_ >= 0 && can(last_)) ? last_ : runnable.front();
    }
    std::unique_ptr<Strategy> clone() const override { return std::make_unique<Replay>(*this); }

private:
    std::vector<int> steps_;
    int last_ = -1;
};

}  // namespace

std::unique_ptr<Strategy> make_strategy(const StrategyConfig& c) {
    switch (c.kind) {
        case StrategyKind::Random: return std::make_unique<RandomStrategy>(c.seed);
        case StrategyKind::Pct: return std::make_unique<Pct>(c);
        case StrategyKind::RoundRobin: return std::make_unique<RoundRobin>();
        case StrategyKind::Replay: return std::make_unique<Replay>(c.replay);
    }
    return nullptr;
}

const char* strategy_name(StrategyKind kind) {
    switch (kind) {
        case StrategyKind::Random: return "random";
        case StrategyKind::Pct: return "pct";
        case StrategyKind::RoundRobin: return "rr";
        case StrategyKind::Replay: return "replay";
    }
    return "?";
}

std::optional<StrategyKind> parse_strategy(const std::string& name) {
    if (name == "random") return StrategyKind::Random;
    if (name == "pct") return StrategyKind::Pct;
    if (name == "rr") return StrategyKind::RoundRobin;
    return std::nullopt;
}

}  // namespace simrun
