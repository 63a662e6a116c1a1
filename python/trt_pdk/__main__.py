import sys

from trt_pdk.cli import main

sys.exit(main())
