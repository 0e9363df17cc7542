// `sevwatch incidents list|show|ack|assign|note|contain|resolve`.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "triage/incident.h"

namespace sevwatch::app {

int incidents_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// The human form of `incidents show`.
void print_incident(const triage::Incident& incident, std::ostream& out);

}  // namespace sevwatch::app
