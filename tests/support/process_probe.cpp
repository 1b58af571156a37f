#include "support/process_probe.h"

#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace wsa::test {
namespace {

int64_t status_field_kib(pid_t pid, const char* field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  const std::size_t length = std::strlen(field);
  while (std::getline(in, line)) {
    if (line.compare(0, length, field) == 0 && line.size() > length && line[length] == ':') {
      return std::stoll(line.substr(length + 1));  // "   1234 kB"
    }
  }
  return -1;
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int64_t rss_kib(pid_t pid) { return status_field_kib(pid, "VmRSS"); }

int64_t peak_rss_kib(pid_t pid) { return status_field_kib(pid, "VmHWM"); }

double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) {
    return -1;
  }
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  const std::size_t end_of_name = stat.rfind(')');
  if (end_of_name == std::string::npos) {
    return -1;
  }
  std::istringstream fields(stat.substr(end_of_name + 2));
  std::string skipped;
  for (int field = 3; field < 14; ++field) {  // state (3) .. cmajflt (13)
    fields >> skipped;
  }
  long long user_ticks = 0;
  long long system_ticks = 0;
  fields >> user_ticks >> system_ticks;  // fields 14 and 15
  return static_cast<double>(user_ticks + system_ticks) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

int open_fds(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/fd";
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) {
    return -1;
  }
  int count = 0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') {
      ++count;
    }
  }
  closedir(dir);
  return count;
}

cpu_meter::cpu_meter(pid_t pid) : pid_(pid), start_cpu_(cpu_seconds(pid)), start_ns_(now_ns()) {}

double cpu_meter::cores_used() const {
  const double wall = static_cast<double>(now_ns() - start_ns_) / 1e9;
  if (wall <= 0) {
    return 0;
  }
  return (cpu_seconds(pid_) - start_cpu_) / wall;
}

void small_sanitizer_quarantine() {
  const char* current = std::getenv("ASAN_OPTIONS");
  std::string options = current != nullptr ? current : "";
  if (options.find("quarantine_size_mb") == std::string::npos) {
    options += options.empty() ? "quarantine_size_mb=8" : ":quarantine_size_mb=8";
    ::setenv("ASAN_OPTIONS", options.c_str(), 1);
  }
}

}  // namespace wsa::test
