"""The G1 body's low-level DDS interface (``unitree_hg`` LowCmd / LowState): packing, CRC,
the channel through Unitree's SDK, and a simulated robot on loopback DDS."""
