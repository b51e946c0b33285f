import sys

from ns_implicit.cli import main

sys.exit(main())
