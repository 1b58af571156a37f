// Helpers for the cli tests: run the command line on owned strings with a chosen set of
// WSAGENT_* variables, write temp config files.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/command_line.h"

extern char** environ;

namespace wsa::testing_cli {

/// While alive, the process environment has exactly `vars` ("NAME=value") as its WSAGENT_*
/// variables (others, e.g. from the shell running the tests, are set aside); restored after.
class scoped_env {
 public:
  explicit scoped_env(const std::vector<std::string>& vars) {
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      const std::string entry(*e);
      if (entry.starts_with("WSAGENT_")) {
        saved_.push_back(entry);
      }
    }
    for (const std::string& entry : saved_) {
      unsetenv(entry.substr(0, entry.find('=')).c_str());
    }
    for (const std::string& entry : vars) {
      const std::size_t eq = entry.find('=');
      set_.push_back(entry.substr(0, eq));
      setenv(set_.back().c_str(), eq == std::string::npos ? "" : entry.c_str() + eq + 1, 1);
    }
  }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;
  ~scoped_env() {
    for (const std::string& name : set_) {
      unsetenv(name.c_str());
    }
    for (const std::string& entry : saved_) {
      const std::size_t eq = entry.find('=');
      setenv(entry.substr(0, eq).c_str(), entry.c_str() + eq + 1, 1);
    }
  }

 private:
  std::vector<std::string> saved_;
  std::vector<std::string> set_;
};

struct run_result {
  cli_status status = cli_status::error;
  invocation inv;
  std::string message;
};

/// `wsagent ARGS...` with `env` as the WSAGENT_* variables.
inline run_result run(std::vector<std::string> args, const std::vector<std::string>& env = {}) {
  scoped_env scope(env);
  run_result r;
  r.status = parse_command_line(args, r.inv, r.message);
  return r;
}

struct serve_run {
  cli_status status = cli_status::error;
  config cfg;
  std::string message;  ///< without the "wsagent serve: " prefix
  std::vector<std::string> warnings;
};

/// `wsagent serve ARGS...` with `env` as the WSAGENT_* variables.
inline serve_run run_serve(const std::vector<std::string>& args,
                           const std::vector<std::string>& env = {}) {
  std::vector<std::string> words = {"serve"};
  words.insert(words.end(), args.begin(), args.end());
  run_result r = run(std::move(words), env);
  serve_run s;
  s.status = r.status;
  s.cfg = std::move(r.inv.serve);
  s.warnings = std::move(r.inv.warnings);
  constexpr std::string_view prefix = "wsagent serve: ";
  s.message = r.message.starts_with(prefix) ? r.message.substr(prefix.size()) : r.message;
  return s;
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
