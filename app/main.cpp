// sevwatch: the command line. Only dispatch lives here; each subcommand is in
// its own file of the app library.
#include <iostream>
#include <string>
#include <vector>

#include "app/demo_command.h"
#include "app/incidents_command.h"
#include "app/notify_command.h"
#include "app/rules_command.h"
#include "app/run_command.h"
#include "app/scan_command.h"

namespace {

constexpr const char* kUsage = R"(usage: sevwatch COMMAND [ARGS]

  scan [--context FILE] [--rules DIR]... [--store URL] [--format auto|NAME]
       [--fail-on-sev N] [--json] [--catalog NAME] [--mapping FILE]
       [--utc-offset-minutes N] [--max-line-bytes N] [--threads N] [--stream-queue N]
       [--sigma-mapping FILE] PATH...                                 read audit logs ('-' for stdin) into incidents
  run --config FILE                             the daemon: follow sources live into incidents
  incidents list [--store URL] [--status STATUS] [--json | --format human|json|ocsf]
  incidents show ID [--store URL] [--json | --format human|json|ocsf]
  incidents ack|resolve|contain ID --by WHO [--note TEXT]
  incidents assign ID --to WHO --by WHO
  incidents note ID --by WHO --text TEXT
  incidents sev ID --to N --by WHO --reason TEXT  a human sets the SEV (on the timeline)
  rules check [--json] [--context FILE] [--rubric FILE] [--sigma-mapping FILE] DIR|FILE...
  rules test [--explain] [--rule ID] [--sigma-mapping FILE] DIR|FILE...
                                                run the tests written inside rule files
  demo [--outsiders] [--dir DIR]                the seed incident, replayed end to end
  notify run|send-pending --routes FILE [--store URL] [--until-idle] [--lease D] [--poll D]
  notify list [--store URL] [--incident ID] [--state STATE] [--json]
  silence add --by WHO --comment TEXT --for D [--rule GLOB] [--sev N|A-B] [--object GLOB]
  silence list [--all] [--json] | silence expire ID --by WHO

The store defaults to sqlite:sevwatch.db in the working directory.
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version" || args[0] == "version") {
    std::cout << "sevwatch " << SEVWATCH_VERSION << "\n";
    return 0;
  }
  const std::string command = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  try {
    if (command == "scan") return sevwatch::app::scan_main(rest, std::cout, std::cerr);
    if (command == "incidents") return sevwatch::app::incidents_main(rest, std::cout, std::cerr);
    if (command == "rules") return sevwatch::app::rules_main(rest, std::cout, std::cerr);
    if (command == "run") return sevwatch::app::run_main(rest, std::cout, std::cerr);
    if (command == "demo") return sevwatch::app::demo_main(rest, std::cout, std::cerr);
    if (command == "notify") return sevwatch::app::notify_main(rest, std::cout, std::cerr);
    if (command == "silence") return sevwatch::app::silence_main(rest, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "sevwatch " << command << ": " << e.what() << "\n";
    return 1;
  }
  std::cerr << "sevwatch: unknown command '" << command << "'\n" << kUsage;
  return 2;
}
