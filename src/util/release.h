// Giving back what a burst grew: a string or vector keeps its capacity when cleared, so a
// buffer that once held a burst would keep that memory resident for good. Owners call this
// where the buffer is empty (or about to be refilled), with what a steady load needs.
// Pure: any thread.
#pragma once

#include <cstddef>

namespace wsa {

/// Frees `buffer`'s storage (it is left empty) when its capacity has grown past `keep`.
template <class Buffer>
void release_if_grown(Buffer& buffer, std::size_t keep) {
  if (buffer.capacity() > keep) {
    Buffer().swap(buffer);
  }
}

}  // namespace wsa
