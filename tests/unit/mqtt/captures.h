// Bytes real MQTT clients sent to, and a real broker sent back over, loopback TCP: Debian
// 12's mosquitto_pub/mosquitto_sub 2.0.11 and python3-paho-mqtt 1.6.1 against Debian's
// mosquitto 2.0.11, recorded by a relay between them (one string per recv/send, in order).
// The commands were:
//   mosquitto_sub -V mqttv311 -i sub311 -c -q 1 -t 'sensors/+/temp' -t 'a/#' -u user -P tok311
//   mosquitto_pub -V mqttv311 -i pub311 -q 1 -t sensors/x/temp -m '{"t":21.5}' -u user -P tok311
//   mosquitto_pub -V mqttv311 -i pub311b -q 2 -t a/b -m hello --will-topic dev/gone
//                 --will-payload bye --will-qos 1 --will-retain -k 30
//   mosquitto_sub -V mqttv5 -i sub5 -c -q 1 -t 'sensors/#' -P tok5 -x 3600
//                 -D connect receive-maximum 10 -D connect topic-alias-maximum 5
//                 -D connect user-property dev kind -D subscribe subscription-identifier 7
//   mosquitto_pub -V mqttv5 -i pub5 -q 1 -t sensors/y -m 21.5 -D publish user-property unit C
//                 -D publish message-expiry-interval 60 -D publish content-type text/plain
//                 -D publish payload-format-indicator 1 -D publish correlation-data abc
//                 -D publish response-topic reply/here
//   printf '\x00\x01\xff' | mosquitto_pub -V mqttv5 -i pub5b -t sensors/z -s
//                 -D publish topic-alias 3
//   paho (3.1.1, clean_session False; then 5.0 with session expiry 60, topic alias maximum 4):
//     will dev/paho/status "offline" QoS 1 retained, user "ignored", password
//     "jwt.token.here", keep-alive 20; SUBSCRIBE t/# (QoS 2; 5.0: no local, retain as
//     published, retain handling 1, subscription identifier 42) and u/+ (QoS 1); PUBLISH
//     u/x "\0binary\xff" QoS 2 (5.0: topic alias 2, user properties a=1 b=2) and u/y
//     "text payload" QoS 1; UNSUBSCRIBE both; DISCONNECT (5.0: session expiry 0).
#pragma once

#include <string_view>

namespace wsa::mqtt::test {

struct captured_chunk {
  bool from_client;
  std::string_view hex;
};

// mosquitto_sub 3.1.1, persistent session, two filters.
inline constexpr captured_chunk sub311[] = {
    {true, "102000044d51545404c0003c00067375623331310004757365720006746f6b333131"},
    {false, "20020000"},
    {true, "82190001000e73656e736f72732f2b2f74656d70010003612f2301"},
    {false, "900400010101"},
    {false, "321c000e73656e736f72732f782f74656d7000017b2274223a32312e357d"},
    {true, "40020001"},
    {false, "320c0003612f62000268656c6c6f"},
    {true, "40020002"},
    {true, "e000"},
};

// mosquitto_pub 3.1.1, QoS 1 JSON payload.
inline constexpr captured_chunk pub311[] = {
    {true, "102000044d51545404c2003c00067075623331310004757365720006746f6b333131"},
    {false, "20020000"},
    {true, "321c000e73656e736f72732f782f74656d7000017b2274223a32312e357d"},
    {false, "40020001"},
    {true, "e000"},
};

// mosquitto_pub 3.1.1, QoS 2 with a retained QoS 1 will.
inline constexpr captured_chunk pub311_qos2_will[] = {
    {true, "102200044d515454042e001e00077075623331316200086465762f676f6e650003627965"},
    {false, "20020000"},
    {true, "340c0003612f62000168656c6c6f"},
    {false, "50020001"},
    {true, "62020001"},
    {false, "70020001"},
    {true, "e000"},
};

// mosquitto_sub 5.0 with CONNECT and SUBSCRIBE properties.
inline constexpr captured_chunk sub5[] = {
    {true,
     "102e00044d5154540540003c1721000a22000526000364657600046b696e641100000e100004737562350004"
     "746f6b35"},
    {false, "200900000622000a210014"},
    {true, "82110001020b07000973656e736f72732f2301"},
    {false, "900400010001"},
    {false,
     "3245000973656e736f72732f790001330b07260004756e697400014303000a746578742f706c61696e010109"
     "000361626308000a7265706c792f68657265020000003c32312e35"},
    {true, "40020001"},
    {false, "3011000973656e736f72732f7a020b070001ff"},
    {true, "e000"},
};

// mosquitto_pub 5.0, QoS 1 with every message property.
inline constexpr captured_chunk pub5[] = {
    {true, "101400044d5154540502003c03210014000470756235"},
    {false, "200900000622000a210014"},
    {true,
     "3243000973656e736f72732f79000131260004756e6974000143020000003c03000a746578742f706c61696e"
     "010109000361626308000a7265706c792f6865726532312e35"},
    {false, "4003000110"},
    {true, "e000"},
};

// mosquitto_pub 5.0, QoS 0 binary payload with a topic alias (PUBLISH and DISCONNECT in one
// segment).
inline constexpr captured_chunk pub5_alias[] = {
    {true, "101500044d5154540502003c0321001400057075623562"},
    {false, "200900000622000a210014"},
    {true, "3012000973656e736f72732f7a032300030001ffe000"},
};

// paho 3.1.1.
inline constexpr captured_chunk paho311[] = {
    {true,
     "104600044d51545404ec001400077061686f333131000f6465762f7061686f2f73746174757300076f66666c"
     "696e65000769676e6f726564000e6a77742e746f6b656e2e68657265"},
    {false, "20020000"},
    {true, "820e00010003742f23020003752f2b01"},
    {false, "900400010201"},
    {true, "340f0003752f7800020062696e617279ff"},
    {false, "50020002"},
    {true, "32130003752f79000374657874207061796c6f6164"},
    {false, "32130003752f79000174657874207061796c6f6164"},
    {true, "62020002"},
    {false, "40020003"},
    {true, "40020001"},
    {false, "320f0003752f7800020062696e617279ff"},
    {true, "40020002"},
    {false, "70020002"},
    {true, "a20c00040003742f230003752f2b"},
    {false, "b0020004"},
    {true, "e000"},
};

// paho 5.0.
inline constexpr captured_chunk paho5[] = {
    {true,
     "104e00044d51545405ee001408110000003c22000400057061686f3500000f6465762f7061686f2f737461747573"
     "00076f66666c696e65000769676e6f726564000e6a77742e746f6b656e2e68657265"},
    {false, "200900000622000a210014"},
    {true, "82110001020b2a0003742f231e0003752f2b01"},
    {false, "90050001000201"},
    {true, "34210003752f7800021123000226000161000131260001620001320062696e617279ff"},
    {false, "50020002"},
    {true, "32140003752f7900030074657874207061796c6f6164"},
    {false, "32160003752f790001020b2a74657874207061796c6f6164"},
    {true, "62020002"},
    {false, "40020003"},
    {true, "40020001"},
    {false, "32200003752f780002100b2a26000161000131260001620001320062696e617279ff70020002"},
    {true, "40020002"},
    {true, "a20d0004000003742f230003752f2b"},
    {false, "b0050004000000"},
    {true, "e00700051100000000"},
};

}  // namespace wsa::mqtt::test
