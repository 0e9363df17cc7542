// `sevwatch demo`: the seed incident replayed (spec/scenario-mci.md).
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace sevwatch::app {

int demo_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace sevwatch::app
