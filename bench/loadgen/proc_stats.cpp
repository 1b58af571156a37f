// /proc/<pid>/status and /proc/<pid>/stat readers (see proc_stats.h).
#include "proc_stats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "clock.h"

namespace wsa::loadgen {

namespace {

bool read_file(const std::string& path, std::string& out) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) {
    return false;
  }
  char buf[8192];
  std::size_t n;
  out.clear();
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    out.append(buf, n);
  }
  std::fclose(f);
  return true;
}

uint64_t status_kib(const std::string& status, const char* key) {
  std::size_t pos = status.find(key);
  if (pos == std::string::npos) {
    return 0;
  }
  return std::strtoull(status.c_str() + pos + std::strlen(key), nullptr, 10);
}

}  // namespace

proc_sample sample_process(int pid, task_clock* clock) {
  proc_sample s;
  s.t_ns = now_ns();
  std::string base = "/proc/" + std::to_string(pid);
  std::string status;
  std::string stat;
  if (!read_file(base + "/status", status) || !read_file(base + "/stat", stat)) {
    return s;
  }
  s.rss_kib = status_kib(status, "VmRSS:");
  s.hwm_kib = status_kib(status, "VmHWM:");
  // Fields after the parenthesised command name (which may hold spaces): state is field 3,
  // utime field 14, stime field 15.
  std::size_t close = stat.rfind(')');
  if (close == std::string::npos) {
    return s;
  }
  const char* p = stat.c_str() + close + 2;
  uint64_t fields[16] = {};
  for (int f = 3; f <= 15 && *p != '\0'; ++f) {
    char* end = nullptr;
    if (f == 3) {
      p = std::strchr(p, ' ');
      if (p == nullptr) {
        return s;
      }
      ++p;
      continue;
    }
    fields[f] = std::strtoull(p, &end, 10);
    p = end;
    while (*p == ' ') {
      ++p;
    }
  }
  long tck = sysconf(_SC_CLK_TCK);
  s.cpu_ns = (fields[14] + fields[15]) * (1000000000ull / static_cast<uint64_t>(tck));
  s.has_task_clock = clock != nullptr && clock->read_ns(s.task_clock_ns);
  s.ok = true;
  return s;
}

uint64_t own_cpu_ns() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto ns = [](const timeval& tv) {
    return static_cast<uint64_t>(tv.tv_sec) * 1000000000ull +
           static_cast<uint64_t>(tv.tv_usec) * 1000ull;
  };
  return ns(ru.ru_utime) + ns(ru.ru_stime);
}

uint64_t own_max_rss_kib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<uint64_t>(ru.ru_maxrss);
}

}  // namespace wsa::loadgen
