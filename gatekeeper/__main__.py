import sys

from gatekeeper.main import main

sys.exit(main())
