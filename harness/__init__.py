"""HIL harness: checks that ML models compute on microcontrollers what they compute on the host."""

__version__ = "0.1.0"
