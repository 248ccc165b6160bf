"""Feetech STS/SMS servos ("protocol 0", little-endian): packets, a pyserial bus, calibration,
and a simulated bus on a pseudo-terminal that answers like the servos do."""
