// `sevwatch rules check`: validate rule files (and a context or rubric file),
// reporting every problem as FILE:LINE:COL with a stable code.
// `sevwatch rules test`: run the tests written in rule files.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace sevwatch::app {

int rules_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace sevwatch::app
