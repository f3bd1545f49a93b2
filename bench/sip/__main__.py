"""bench/sip in one command: the registrar beside Kamailio, then the INVITE parser micro-benchmark.

Run: python -m bench.sip
"""

from bench.sip import parse_bench, register_bench

register_bench.main()
print()
parse_bench.main()
