// Replays the MQTT decoder fuzz target's seeds (tests/fuzz/mqtt_decoder_seeds: the captures
// and the reproducers of what fuzzing found) through the target's own checks, in every
// build, sanitizers included, with GCC as well as clang. A broken contract aborts.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "../../fuzz/mqtt_decoder_fuzz.cpp"

namespace {

TEST(mqtt_fuzz_seeds, replay) {
  const std::filesystem::path dir =
      std::filesystem::path(WSAGENT_MQTT_TEST_DIR) / "../../fuzz/mqtt_decoder_seeds";
  int ran = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream file(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(file)),
                            std::istreambuf_iterator<char>());
    SCOPED_TRACE(entry.path().filename().string());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    ++ran;
  }
  EXPECT_GE(ran, 20);
}

}  // namespace
