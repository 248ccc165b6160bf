"""Inspire RH56 hands over Modbus TCP (pymodbus): registers, a client, a simulated hand."""
