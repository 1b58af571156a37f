#!/usr/bin/python3
"""scripts/cluster.sh --redis cluster: see cluster_modes.py. Usage: cluster_rediscluster_test.py PATH/TO/wsagent"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_modes import check_mode  # noqa: E402

if __name__ == "__main__":
    check_mode("cluster", os.path.realpath(sys.argv[1]))
