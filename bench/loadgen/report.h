// Printing a merged run: the human text report and the --json object that bench/compare
// reads. Called once by the parent process at the end.
#pragma once

#include <cstdio>

#include "options.h"
#include "proc_stats.h"
#include "result.h"

namespace wsa::loadgen {

struct server_samples {
  int pid = 0;
  proc_sample before;    // before the first connection
  proc_sample at_start;  // start of the measured window
  proc_sample at_end;    // end of the measured window
};

void print_text(std::FILE* out, const options& opt, const run_result& r,
                const server_samples& srv);
void print_json(std::FILE* out, const options& opt, const run_result& r,
                const server_samples& srv);

// Deliveries the subscribers should have received for the messages stamped in the window.
uint64_t expected_deliveries(const run_result& r);

}  // namespace wsa::loadgen
