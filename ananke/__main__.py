import sys

from ananke.cli import main

sys.exit(main())
