// The options of `wsagent keygen` and `wsagent token` (command line only: they run once by
// hand or from a script), and the checks that need no key. Startup only, one thread.
#pragma once

#include <span>
#include <string>

#include "cli/option_set.h"
#include "cli/serve.h"
#include "tools/tool_args.h"

namespace wsa {

void declare_keygen_options(option_set& o, keygen_args& a);
void declare_token_options(option_set& o, token_args& a);

/// Options refused on purpose by `token`.
std::span<const refused_option> token_refused_options();

/// What must hold once every option is read; false with `why` otherwise.
bool check_keygen(const keygen_args& a, std::string& why);
bool check_token(const token_args& a, std::string& why);

}  // namespace wsa
