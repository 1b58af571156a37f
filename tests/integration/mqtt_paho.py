#!/usr/bin/python3
"""An MQTT client nobody here wrote (Debian's python3-paho-mqtt) driven by mqtt_test.cpp
against the real server, over TCP or WebSocket, MQTT 3.1.1 or 5.0.

  mqtt_paho.py --port P [--ws] [--v5] [--id ID] [--password TOKEN]
               [--sub FILTER:QOS[:RETAIN_HANDLING[:NO_LOCAL[:RETAIN_AS_PUBLISHED]]]]...
               [--pub TOPIC:QOS:PAYLOAD]... [--retain] [--expiry S] [--content-type T]
               [--user-property K=V]... [--expect N]

Connects, subscribes (waiting for SUBACK), publishes (waiting for each acknowledgement; with
--retain and, in 5.0, the given properties), then waits for N messages, and disconnects
cleanly. Messages are printed with their 5.0 properties.
Every event is one JSON line on stdout, for the test to check; exit 0 when all went as asked."""
import argparse
import json
import sys
import threading

import paho.mqtt.client as mqtt

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--ws", action="store_true")
parser.add_argument("--v5", action="store_true")
parser.add_argument("--id", default="paho")
parser.add_argument("--password")
parser.add_argument("--sub", action="append", default=[])
parser.add_argument("--pub", action="append", default=[])
parser.add_argument("--expect", type=int, default=0)
parser.add_argument("--retain", action="store_true")
parser.add_argument("--expiry", type=int)
parser.add_argument("--content-type")
parser.add_argument("--user-property", action="append", default=[])
args = parser.parse_args()

lock = threading.Lock()
connected = threading.Event()
subscribed = threading.Event()
got_all = threading.Event()
received = []


def say(**event):
    with lock:
        print(json.dumps(event), flush=True)


def code(rc):
    return int(rc.value) if hasattr(rc, "value") else int(rc)


def on_connect(client, userdata, flags, rc, properties=None):
    say(event="connack", rc=code(rc))
    connected.set()


def on_subscribe(client, userdata, mid, granted, properties=None):
    say(event="suback", granted=[code(g) for g in granted])
    subscribed.set()


def on_message(client, userdata, m):
    props = getattr(m, "properties", None)
    say(event="message", topic=m.topic, payload=m.payload.decode("utf-8", "replace"), qos=m.qos,
        retain=bool(m.retain),
        user_properties=[list(p) for p in getattr(props, "UserProperty", [])],
        content_type=getattr(props, "ContentType", None),
        expiry=getattr(props, "MessageExpiryInterval", None))
    received.append(m)
    if len(received) >= args.expect:
        got_all.set()


def on_disconnect(client, userdata, rc, properties=None):
    say(event="disconnected", rc=code(rc))


client = mqtt.Client(client_id=args.id, protocol=mqtt.MQTTv5 if args.v5 else mqtt.MQTTv311,
                     transport="websockets" if args.ws else "tcp")
if args.ws:
    client.ws_set_options(path="/mqtt")
if args.password is not None:
    client.username_pw_set("device", args.password)
client.on_connect = on_connect
client.on_subscribe = on_subscribe
client.on_message = on_message
client.on_disconnect = on_disconnect
client.connect("127.0.0.1", args.port, keepalive=30)
client.loop_start()
ok = connected.wait(20)
for entry in args.sub:
    # FILTER:QOS, or FILTER:QOS:RH with a 5.0 Retain Handling (0 always, 1 if new, 2 never)
    topic, qos, *handling = entry.split(":")
    subscribed.clear()
    if handling:
        from paho.mqtt.subscribeoptions import SubscribeOptions
        flags = [int(f) for f in handling] + [0, 0]
        client.subscribe(topic, options=SubscribeOptions(qos=int(qos), retainHandling=flags[0],
                                                         noLocal=bool(flags[1]),
                                                         retainAsPublished=bool(flags[2])))
    else:
        client.subscribe(topic, int(qos))
    ok = ok and subscribed.wait(20)
for entry in args.pub:
    topic, qos, payload = entry.split(":", 2)
    props = None
    if args.v5 and (args.expiry is not None or args.content_type or args.user_property):
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties
        props = Properties(PacketTypes.PUBLISH)
        if args.expiry is not None:
            props.MessageExpiryInterval = args.expiry
        if args.content_type:
            props.ContentType = args.content_type
        for pair in args.user_property:
            props.UserProperty = tuple(pair.split("=", 1))
    info = client.publish(topic, payload.encode(), qos=int(qos), retain=args.retain,
                          properties=props)
    info.wait_for_publish(20)
    say(event="published", topic=topic, qos=int(qos), ok=info.is_published())
    ok = ok and info.is_published()
if args.expect:
    ok = got_all.wait(20) and ok
say(event="ready" if ok else "failed")
client.disconnect()
client.loop_stop()
sys.exit(0 if ok else 1)
