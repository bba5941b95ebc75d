import sys

from cumulo.cli import main

sys.exit(main())
