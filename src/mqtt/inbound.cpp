// Inbound QoS accounting and QoS 2 idem keys. See inbound.h.
#include "mqtt/inbound.h"

#include <sodium.h>

#include <algorithm>

#include "util/hex.h"

namespace wsa::mqtt {

inbound_flow::verdict inbound_flow::on_publish(uint8_t qos, uint16_t packet_id, bool enforce,
                                               uint64_t& number) {
  if (qos == 2) {
    const auto it = std::find_if(held_.begin(), held_.end(),
                                 [&](const auto& h) { return h.first == packet_id; });
    if (it != held_.end()) {
      number = it->second;
      return verdict::duplicate;
    }
  }
  if (enforce && unacknowledged() >= receive_maximum_) {
    return verdict::exceeded;  // [MQTT-3.3.4-8]: the client sent more than it was allowed
  }
  if (qos == 2) {
    number = next_number_++;
    held_.emplace_back(packet_id, number);
  } else {
    ++qos1_open_;
  }
  return verdict::publish;
}

void inbound_flow::qos1_done() {
  if (qos1_open_ > 0) {
    --qos1_open_;
  }
}

bool inbound_flow::on_pubrel(uint16_t packet_id) {
  const auto it =
      std::find_if(held_.begin(), held_.end(), [&](const auto& h) { return h.first == packet_id; });
  if (it == held_.end()) {
    return false;
  }
  held_.erase(it);
  return true;
}

void inbound_flow::restore(std::vector<std::pair<uint16_t, uint64_t>> held, uint64_t next_number) {
  held_ = std::move(held);
  next_number_ = next_number;
  for (const auto& h : held_) {  // never hand out a number already in use
    next_number_ = std::max(next_number_, h.second + 1);
  }
}

std::string qos2_idem_key(std::string_view session_key, uint64_t number) {
  unsigned char hash[16];
  crypto_generichash(hash, sizeof hash, reinterpret_cast<const unsigned char*>(session_key.data()),
                     session_key.size(), nullptr, 0);
  std::string key = "mq2:";
  append_hex(key, hash, sizeof hash);
  key += ':';
  key += std::to_string(number);
  return key;
}

}  // namespace wsa::mqtt
