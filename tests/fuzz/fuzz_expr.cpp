// libFuzzer harness: the expression parser on the whole input, and the op
// parser on each of its lines (what `final`, `always` and `run` lists hold).
#include "scenario/expr.hpp"
#include "scenario/op_parser.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    simrun::ExprTree tree;
    simrun::ExprError err;
    if (simrun::parse_expr(text, tree, err)) {
        if (tree.root < 0 || static_cast<std::size_t>(tree.root) >= tree.nodes.size()) __builtin_trap();
    } else if (err.offset > text.size()) {
        __builtin_trap();  // the caret would point past the text
    }
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        simrun::OpDecl op;
        simrun::TextError op_err;
        if (!simrun::parse_op(text.substr(start, end - start), op, op_err) && op_err.offset > end - start) __builtin_trap();
        start = end + 1;
    }
    return 0;
}
