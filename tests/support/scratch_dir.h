// A temporary directory for a test's files (keys, secrets, configs), removed with
// everything in it when the test ends. Test thread only.
#pragma once

#include <stdlib.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace wsa::test {

class scratch_dir {
 public:
  scratch_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                        "/wsa_test.XXXXXX";
    if (::mkdtemp(templ.data()) != nullptr) {
      path_ = templ;
    }
  }
  ~scratch_dir() {
    std::error_code ec;
    if (!path_.empty()) {
      std::filesystem::remove_all(path_, ec);
    }
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }
  std::string write(std::string_view name, std::string_view text, mode_t mode = 0600) const {
    const std::string p = file(name);
    std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
    ::chmod(p.c_str(), mode);
    return p;
  }
  bool ok() const { return !path_.empty(); }

 private:
  std::string path_;
};

}  // namespace wsa::test
