import signal
import sys

try:
    from cosim.cli import main

    code = main()
except KeyboardInterrupt:  # Ctrl-C before the command line took over (while importing)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    print("cosim: interrupted", file=sys.stderr)
    code = 130
raise SystemExit(code)
