// Server frames: header sizes and lengths (RFC 6455 section 5.2) and the close frame.
#include "ws/frame.h"

#include <gtest/gtest.h>

#include <string>

namespace wsa {
namespace {

TEST(frame_header, sizes_and_lengths_follow_rfc6455) {
  char out[10];
  EXPECT_EQ(write_frame_header(out, ws_opcode::text, 125), 2u);
  EXPECT_EQ(static_cast<unsigned char>(out[1]), 125);
  EXPECT_EQ(write_frame_header(out, ws_opcode::text, 126), 4u);
  EXPECT_EQ(static_cast<unsigned char>(out[1]), 126);
  EXPECT_EQ(static_cast<unsigned char>(out[2]), 0);
  EXPECT_EQ(static_cast<unsigned char>(out[3]), 126);
  EXPECT_EQ(write_frame_header(out, ws_opcode::binary, 65536), 10u);
  EXPECT_EQ(static_cast<unsigned char>(out[0]), 0x82);
  EXPECT_EQ(static_cast<unsigned char>(out[1]), 127);
  EXPECT_EQ(static_cast<unsigned char>(out[7]), 1);  // 0x00..0x010000, big-endian
  frame* close = make_ws_close(4008, "slow consumer");
  EXPECT_EQ(close->bytes().substr(0, 4), std::string("\x88\x0f\x0f\xa8", 4));
  close->unref();
}

}  // namespace
}  // namespace wsa
