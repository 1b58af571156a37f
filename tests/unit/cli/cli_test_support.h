// Helpers for the cli tests: run the serve parser on owned strings, write temp config files.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "cli/options.h"

namespace wsa::testing_cli {

struct serve_run {
  parse_status status = parse_status::error;
  config cfg;
  std::string message;
  std::vector<std::string> warnings;
};

inline serve_run run_serve(const std::vector<std::string>& args,
                           const std::vector<std::string>& env = {}) {
  std::vector<std::string_view> arg_views(args.begin(), args.end());
  std::vector<std::string_view> env_views(env.begin(), env.end());
  serve_run run;
  run.status = parse_serve_args(arg_views, env_views, run.cfg, run.message, run.warnings);
  return run;
}

/// A file in the test's temp directory holding `contents`, removed when destroyed.
class temp_file {
 public:
  explicit temp_file(std::string_view contents) {
    path_ = ::testing::TempDir() + "wsagent_cli_XXXXXX";
    const int fd = mkstemp(path_.data());
    EXPECT_GE(fd, 0);
    if (fd >= 0) {
      EXPECT_EQ(write(fd, contents.data(), contents.size()), static_cast<ssize_t>(contents.size()));
      close(fd);
    }
  }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  ~temp_file() { std::remove(path_.c_str()); }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

}  // namespace wsa::testing_cli
