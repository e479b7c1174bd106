#include "util/regex.hpp"

#include <re2/re2.h>

namespace simrun {
namespace {

RE2::Options options() {
    RE2::Options o;
    o.set_log_errors(false);
    return o;
}

}  // namespace

std::string regex_error(const std::string& pattern) {
    const RE2 re(pattern, options());
    return re.ok() ? std::string() : re.error();
}

bool regex_search(std::string_view text, const std::string& pattern) {
    const RE2 re(pattern, options());
    return re.ok() && RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), re);
}

}  // namespace simrun
