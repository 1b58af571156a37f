#!/usr/bin/python3
"""An MQTT client nobody here wrote (Debian's python3-paho-mqtt) against the MQTT codec's
loopback peer in client_interop_test.cpp. Usage: paho_client.py PORT 311|5

It connects with a password (the JWT in wsagent), subscribes to a/# at QoS 1, waits for the
two messages the peer sends, publishes one QoS 1 and one QoS 2 message, and disconnects.
Every event is printed as one JSON line on stdout, for the test to check."""
import json
import sys
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

port = int(sys.argv[1])
v5 = sys.argv[2] == "5"
done = threading.Event()
messages = []


def say(**event):
    print(json.dumps(event), flush=True)


def on_connect(client, userdata, flags, rc, properties=None):
    say(event="connack", rc=int(rc.value if hasattr(rc, "value") else rc),
        session_present=bool(flags.get("session present", 0)))
    if v5:
        client.subscribe([("a/#", mqtt.SubscribeOptions(qos=1))])
    else:
        client.subscribe([("a/#", 1)])


def on_subscribe(client, userdata, mid, granted, properties=None):
    say(event="suback", granted=[int(g.value) if hasattr(g, "value") else int(g) for g in granted])


def on_message(client, userdata, m):
    props = {}
    if v5 and m.properties is not None:
        if hasattr(m.properties, "UserProperty"):
            props["user"] = m.properties.UserProperty
        if hasattr(m.properties, "SubscriptionIdentifier"):
            props["sub_ids"] = m.properties.SubscriptionIdentifier
    say(event="message", topic=m.topic, payload=m.payload.hex(), qos=m.qos, retain=bool(m.retain),
        props=props)
    messages.append(m)
    if len(messages) == 2:
        done.set()


client = mqtt.Client(client_id="paho-it", protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311)
client.username_pw_set("ignored", "header.payload.signature")
client.on_connect = on_connect
client.on_subscribe = on_subscribe
client.on_message = on_message
if v5:
    p = Properties(PacketTypes.CONNECT)
    p.TopicAliasMaximum = 4
    client.connect("127.0.0.1", port, keepalive=30, properties=p)
else:
    client.connect("127.0.0.1", port, keepalive=30)
client.loop_start()
if not done.wait(20):
    say(event="timeout")
    sys.exit(1)
for qos in (1, 2):
    info = client.publish("a/from-paho", b"hello %d" % qos, qos=qos)
    info.wait_for_publish(20)
    say(event="published", qos=qos, ok=info.is_published())
client.disconnect()
client.loop_stop()
say(event="done")
