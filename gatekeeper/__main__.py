import sys

from gatekeeper.main import program

sys.exit(program())
