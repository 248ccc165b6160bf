"""Tethered inference: the wire codec, the ``remote`` backend (client) and the policy server.

Wire-compatible with Isaac-GR00T's inference service (ZeroMQ REQ/REP, msgpack, ``.npy`` arrays),
in both its N1.5 and N1.6 dialects. Needs only pyzmq and msgpack: no torch on the robot.
"""
