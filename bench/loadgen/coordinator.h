// The parent process of a run: sizes the run (processes, source addresses), forks the
// workers, starts them together once every one is ready, samples the server, merges the
// workers' results and prints the report. Runs on the main thread only.
#pragma once

#include "options.h"

namespace wsa::loadgen {

// Returns the process exit status.
int run_coordinator(options opt);

}  // namespace wsa::loadgen
