// `sevwatch notify run|send-pending|list` and `sevwatch silence add|list|expire`.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace sevwatch::app {

int notify_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int silence_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace sevwatch::app
