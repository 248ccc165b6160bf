"""Recoil motor controllers (Berkeley Humanoid Lite) over CAN: the frame protocol, a bus on
python-can, and simulated controllers for python-can's ``virtual`` interface."""
